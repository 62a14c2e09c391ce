"""The OAuth 2.0 API's machine endpoints (spec "OAuth 2.0 API"): server metadata,
client registration, token, revocation and device authorization. Their
errors are OAuth's (``{"error", "error_description"}``, RFC 6749 5.2), not
Matrix's; the pages a person sees are under ``api/web``."""
