// latchkey sign-in and self-service: the WebAuthn ceremonies. No build
// step, no dependencies; served from the same origin (CSP script-src 'self').
(function () {
  "use strict";
  function b64u(buf) {
    var s = "", b = new Uint8Array(buf);
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64u(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), b = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
    return b.buffer;
  }
  function csrf() {
    var m = document.querySelector('meta[name="csrf"]');
    return m ? m.content : "";
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(j.detail || j.error || ("request failed: " + r.status));
        return j;
      });
    });
  }
  function credJSON(c) {
    var r = c.response, out = { id: c.id, rawId: b64u(c.rawId), type: c.type,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {}, response: {
        clientDataJSON: b64u(r.clientDataJSON) } };
    if (c.authenticatorAttachment) out.authenticatorAttachment = c.authenticatorAttachment;
    if (r.attestationObject) {
      out.response.attestationObject = b64u(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = b64u(r.authenticatorData);
      out.response.signature = b64u(r.signature);
      if (r.userHandle) out.response.userHandle = b64u(r.userHandle);
    }
    return out;
  }
  function createOpts(o) {
    var p = o.publicKey;
    p.challenge = unb64u(p.challenge);
    p.user.id = unb64u(p.user.id);
    (p.excludeCredentials || []).forEach(function (c) { c.id = unb64u(c.id); });
    return { publicKey: p };
  }
  function getOpts(o) {
    var p = o.publicKey;
    p.challenge = unb64u(p.challenge);
    (p.allowCredentials || []).forEach(function (c) { c.id = unb64u(c.id); });
    return { publicKey: p };
  }
  function status(el, msg) {
    var s = document.getElementById(el.getAttribute("data-status") || "passkey-status");
    if (s) s.textContent = msg;
  }
  function run(el) {
    var kind = el.getAttribute("data-passkey"), begin = el.getAttribute("data-begin"),
      finish = el.getAttribute("data-finish"), ret = el.getAttribute("data-return") || "";
    if (!window.PublicKeyCredential) { status(el, "This browser does not support passkeys."); return; }
    status(el, "Waiting for your passkey…");
    post(begin).then(function (c) {
      var p = kind === "register" ? navigator.credentials.create(createOpts(c.options))
        : navigator.credentials.get(getOpts(c.options));
      return p.then(function (cred) {
        var body = { challenge_id: c.challenge_id, credential: credJSON(cred), return_to: ret };
        if (kind === "register") {
          var n = document.getElementById("passkey-name");
          body.name = n ? n.value : "";
        }
        return post(finish, body);
      });
    }).then(function (j) {
      status(el, "Done.");
      window.location.assign(j.redirect || window.location.pathname);
    }).catch(function (e) { status(el, "Passkey failed: " + e.message); });
  }
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest ? ev.target.closest("[data-passkey]") : null;
    if (!el) return;
    ev.preventDefault();
    run(el);
  });
  // Copy buttons: data-copy names the element whose text is copied.
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest ? ev.target.closest("[data-copy]") : null;
    if (!el) return;
    var src = document.getElementById(el.getAttribute("data-copy")), out = document.getElementById("copy-status");
    if (!src) return;
    var done = function () { if (out) out.textContent = "Copied."; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(src.textContent).then(done, function () {
        if (out) out.textContent = "Copying failed: select the key and copy it by hand.";
      });
    } else if (out) {
      out.textContent = "Select the key and copy it by hand.";
    }
  });
  // First-start setup: the code arrives in the URL fragment (never sent to
  // the server); move it into the form and out of the address bar.
  document.addEventListener("DOMContentLoaded", function () {
    var f = document.getElementById("setup-code");
    if (f && window.location.hash.length > 1) {
      f.value = decodeURIComponent(window.location.hash.slice(1));
      history.replaceState(null, "", window.location.pathname);
    }
  });
  document.addEventListener("submit", function (ev) {
    var msg = ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });
})();
