"""The few server-server (federation) endpoints revier answers: OpenID userinfo."""
