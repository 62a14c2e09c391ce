// Passkeys for revier's sign-in and account pages. Served from revier itself
// (CSP script-src 'self'); no other script runs on these pages. A button
// with data-webauthn="authenticate" or "register" asks the server for
// options (JSON, with the page's CSRF token), hands them to the browser's
// authenticator, and posts the answer back; the server says where to go next.
"use strict";

(function () {
  function fromB64url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "===".slice((b64.length + 3) % 4);
    const bytes = atob(padded);
    const out = new Uint8Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) out[i] = bytes.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(function () { return {}; });
    if (!response.ok) throw new Error(data.errcode || "failed");
    return data;
  }

  function descriptors(list) {
    return (list || []).map(function (c) {
      return { type: c.type, id: fromB64url(c.id), transports: c.transports };
    });
  }

  async function authenticate(options) {
    const credential = await navigator.credentials.get({
      publicKey: {
        challenge: fromB64url(options.challenge),
        rpId: options.rpId,
        timeout: options.timeout,
        userVerification: options.userVerification,
        allowCredentials: descriptors(options.allowCredentials),
      },
    });
    const r = credential.response;
    return {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toB64url(r.clientDataJSON),
        authenticatorData: toB64url(r.authenticatorData),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null,
      },
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  async function register(options) {
    const credential = await navigator.credentials.create({
      publicKey: {
        rp: options.rp,
        user: {
          id: fromB64url(options.user.id),
          name: options.user.name,
          displayName: options.user.displayName,
        },
        challenge: fromB64url(options.challenge),
        pubKeyCredParams: options.pubKeyCredParams,
        timeout: options.timeout,
        excludeCredentials: descriptors(options.excludeCredentials),
        authenticatorSelection: options.authenticatorSelection,
        attestation: options.attestation,
      },
    });
    const r = credential.response;
    return {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toB64url(r.clientDataJSON),
        attestationObject: toB64url(r.attestationObject),
        transports: r.getTransports ? r.getTransports() : [],
      },
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  async function run(button) {
    const error = document.getElementById("passkey_error");
    const d = button.dataset;
    error.hidden = true;
    button.disabled = true;
    try {
      const options = await post(d.options, { csrf: d.csrf });
      const register_ = d.webauthn === "register";
      const credential = register_ ? await register(options) : await authenticate(options);
      const name = document.getElementById("passkey_name");
      const result = await post(d.submit, {
        csrf: d.csrf,
        next: d.next,
        name: name ? name.value : undefined,
        credential: credential,
      });
      window.location.assign(result.redirect);
    } catch (e) {
      error.textContent = d.failed;
      error.hidden = false;
      button.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const buttons = document.querySelectorAll("button[data-webauthn]");
    buttons.forEach(function (button) {
      if (!window.PublicKeyCredential) {
        button.disabled = true;
        return;
      }
      button.addEventListener("click", function () { run(button); });
    });
  });
})();
