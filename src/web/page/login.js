// The sign-in page: a passkey made earlier on this dashboard (under Passkeys) is exchanged for a session.
const said = document.getElementById('said');

async function post(path, body) {
  const r = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error ?? `${r.status}`);
  return data;
}

async function signIn() {
  if (!window.PublicKeyCredential?.parseRequestOptionsFromJSON) {
    said.textContent = 'This browser cannot use passkeys here: use a link from slipway dashboard ENV.';
    return;
  }
  said.textContent = 'Waiting for your passkey…';
  try {
    const { options, challenge } = await post('/passkey/options', {});
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
    const credential = await navigator.credentials.get({ publicKey });
    const { who } = await post('/passkey/login', { challenge, answer: credential.toJSON() });
    said.textContent = `Signed in as ${who}`;
    location.replace('/');
  } catch (e) {
    said.textContent = `Not signed in: ${e.message}`;
  }
}

document.getElementById('signin').addEventListener('click', signIn);
