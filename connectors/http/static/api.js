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
  /** Every item of a paged list (`key`), following `next` (at most `pages` pages of 500). */
  async function collect(path, key, pages = 20) {
    const items = [];
    let next = null;
    for (let i = 0; i < pages; i += 1) {
      const query = new URLSearchParams({ limit: '500' });
      if (next) query.set('next', next);
      const { data } = await call('GET', `${path}?${query}`);
      items.push(...data[key]);
      next = data.next;
      if (!next) break;
    }
    return items;
  }
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
    partnerships: () => collect('/v1/partnerships', 'partnerships'),
    propose: (partnerId, terms) => call('POST', '/v1/partnerships', { partner_id: partnerId, terms }),
    acceptPartnership: (id) => call('POST', `/v1/partnerships/${enc(id)}/accept`),
    endPartnership: (id) => call('POST', `/v1/partnerships/${enc(id)}/end`),
    proposeTerms: (id, terms) => call('PUT', `/v1/partnerships/${enc(id)}/terms`, terms),
    directory: (query) => call('GET', `/v1/directory?${new URLSearchParams(query)}`),
    fees: () => collect('/v1/fees', 'fees'),
    settle: (feeId, reference) => call('POST', `/v1/fees/${enc(feeId)}/settle`, { reference }),
    statement: (pid, range) => call('GET', `/v1/partners/${enc(pid)}/statement?${new URLSearchParams(range)}`),
    /** The statement as CSV, as a Blob: fetched with the bearer header (a download link would
     *  have to carry the key in its URL), then saved from memory by the caller. */
    statementCsv: async (pid, range) => {
      const path = `/v1/partners/${enc(pid)}/statement?${new URLSearchParams(range)}`;
      const resp = await fetch(path, {
        headers: { Authorization: `Bearer ${key}`, Accept: 'text/csv' },
        cache: 'no-store',
        credentials: 'omit',
      }).catch(() => null);
      if (!resp) throw new ApiError(0, { error: 'network', message: 'the bus did not answer; try again' });
      if (resp.status === 401 && onUnauthorized) onUnauthorized();
      if (!resp.ok) {
        let data = null;
        try { data = await resp.json(); } catch (err) { data = null; }
        throw new ApiError(resp.status, data);
      }
      return resp.blob();
    },
  };
}
