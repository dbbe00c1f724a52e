// The API as the signed-in partner sees it: every call carries the key as a bearer token
// (never in a URL, never in a cookie: credentials 'omit'). Error bodies name the bad fields.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.error) || 'error';
    this.errors = (body && Array.isArray(body.errors)) ? body.errors : [];
  }
}

/** `onUnauthorized()`: the key stopped working (rotated or revoked) during the session. */
export function makeApi(key, { onUnauthorized } = {}) {
  async function call(method, path, body, headers = {}) {
    const init = {
      method,
      headers: { Authorization: `Bearer ${key}`, Accept: 'application/json', ...headers },
      cache: 'no-store',
      credentials: 'omit',
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (err) {
      throw new ApiError(0, { error: 'network', message: 'the bus did not answer; try again' });
    }
    const text = await resp.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (err) {
      data = { error: 'bad_response', message: `unexpected answer (${resp.status})` };
    }
    if (resp.status === 401 && onUnauthorized) onUnauthorized();
    if (!resp.ok) throw new ApiError(resp.status, data);
    return { status: resp.status, data };
  }
  const enc = encodeURIComponent;
  return {
    key,
    me: () => call('GET', '/v1/me'),
    leads: () => call('GET', '/v1/leads'),
    accept: (rid) => call('POST', `/v1/referrals/${enc(rid)}/accept`, {}, { Prefer: 'wait=10' }),
    decline: (rid, reason) =>
      call('POST', `/v1/referrals/${enc(rid)}/decline`, { reason }, { Prefer: 'wait=10' }),
    outcome: (rid, body) =>
      call('POST', `/v1/referrals/${enc(rid)}/outcome`, body, { Prefer: 'wait=10' }),
    publish: (body) => call('POST', '/v1/opportunities', body),
    opportunity: (oid) => call('GET', `/v1/opportunities/${enc(oid)}`),
    profile: (pid) => call('GET', `/v1/partners/${enc(pid)}`),
    saveProfile: (pid, body) => call('PUT', `/v1/partners/${enc(pid)}`, body),
    scorecard: (pid) => call('GET', `/v1/partners/${enc(pid)}/scorecard`),
  };
}
