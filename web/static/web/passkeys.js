// WebAuthn ceremonies of the passkey forms (a static file: the pages' CSP forbids inline script).
//
// A form with data-passkey="create" (add a passkey) or "get" (sign in with one) and
// data-options="<url>": on submit, POST to the options URL (CSRF token from the form), give the
// options to navigator.credentials.create/get (base64url strings to bytes), and put the
// credential, as JSON (bytes back to base64url), in the form's hidden "credential" field before
// submitting it for real. The server checks everything; this only carries bytes.
(function () {
  "use strict";

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBytes(item.id) });
    });
  }

  function creationOptions(options) {
    var key = options.publicKey;
    return {
      publicKey: Object.assign({}, key, {
        challenge: toBytes(key.challenge),
        user: Object.assign({}, key.user, { id: toBytes(key.user.id) }),
        excludeCredentials: withIds(key.excludeCredentials),
      }),
    };
  }

  function requestOptions(options) {
    var key = options.publicKey;
    return {
      publicKey: Object.assign({}, key, {
        challenge: toBytes(key.challenge),
        allowCredentials: withIds(key.allowCredentials),
      }),
    };
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toText(response.attestationObject);
      if (response.getTransports) json.response.transports = response.getTransports();
    } else {
      json.response.authenticatorData = toText(response.authenticatorData);
      json.response.signature = toText(response.signature);
      if (response.userHandle) json.response.userHandle = toText(response.userHandle);
    }
    return JSON.stringify(json);
  }

  function showError(form, message) {
    var box = form.querySelector("[data-passkey-error]");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
  }

  function fetchOptions(form) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    return fetch(form.dataset.options, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, Accept: "application/json" },
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          var error = body.errors && body.errors[0];
          throw new Error(error ? error.message : "The server refused.");
        }
        return body;
      });
    });
  }

  function ceremony(form) {
    var create = form.dataset.passkey === "create";
    return fetchOptions(form).then(function (options) {
      return create
        ? navigator.credentials.create(creationOptions(options))
        : navigator.credentials.get(requestOptions(options));
    });
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    if (!window.PublicKeyCredential) {
      showError(form, "This browser does not support passkeys.");
      return;
    }
    form.addEventListener("submit", function (event) {
      if (form.dataset.ready === "yes") return;
      event.preventDefault();
      ceremony(form)
        .then(function (credential) {
          if (!credential) throw new Error("No passkey was given.");
          form.querySelector("input[name=credential]").value = credentialJSON(credential);
          form.dataset.ready = "yes";
          form.submit();
        })
        .catch(function (error) {
          showError(form, error && error.message ? error.message : "The passkey did not work.");
        });
    });
  });
})();
