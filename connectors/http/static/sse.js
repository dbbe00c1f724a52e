// The lead stream (GET /v1/leads/stream) read with fetch() and a stream reader: EventSource cannot
// send an Authorization header, and the key must never go in the URL. Reconnects with
// Last-Event-ID after the server's `retry:` delay; stops for good on 401/403 or when aborted.

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/** Split a buffer into complete SSE blocks; returns [blocks, rest]. */
export function splitBlocks(buffer) {
  const parts = buffer.replaceAll('\r\n', '\n').split('\n\n');
  const rest = parts.pop();
  return [parts, rest];
}

/** One SSE block -> {id, event, data, retry} (comment lines ignored). */
export function parseBlock(block) {
  const out = { id: null, event: 'message', data: [], retry: null };
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const at = line.indexOf(':');
    const name = at < 0 ? line : line.slice(0, at);
    let value = at < 0 ? '' : line.slice(at + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'id') out.id = value;
    else if (name === 'event') out.event = value;
    else if (name === 'data') out.data.push(value);
    else if (name === 'retry' && /^\d+$/.test(value)) out.retry = Number(value);
  }
  return { ...out, data: out.data.join('\n') };
}

/**
 * Follow the stream until `signal` aborts. `onLead(lead)` per `event: lead`; `onState(s)` with
 * 'live' | 'reconnecting' | 'refused'.
 */
export async function followLeads(key, { onLead, onState, signal }) {
  let lastId = null;
  let retry = 2000;
  while (!signal.aborted) {
    try {
      const headers = { Authorization: `Bearer ${key}`, Accept: 'text/event-stream' };
      if (lastId) headers['Last-Event-ID'] = lastId;
      const resp = await fetch('/v1/leads/stream', {
        headers, signal, cache: 'no-store', credentials: 'omit',
      });
      if (resp.status === 401 || resp.status === 403) {
        onState('refused');
        return;
      }
      if (resp.ok && resp.body) {
        onState('live');
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const [blocks, rest] = splitBlocks(buffer + value);
          buffer = rest;
          for (const block of blocks) {
            const ev = parseBlock(block);
            if (ev.retry !== null) retry = ev.retry;
            if (ev.id) lastId = ev.id;
            if (ev.event === 'lead' && ev.data) onLead(JSON.parse(ev.data));
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
    }
    if (signal.aborted) return;
    onState('reconnecting');
    await sleep(retry, signal);
  }
}
