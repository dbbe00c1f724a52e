// Building DOM nodes from data. Every string goes in as text (textContent / text nodes): nothing a
// partner typed is ever parsed as markup. Attributes are set only with names chosen here.

let counter = 0;

/** A document-unique id for label/control pairs: `${prefix}-${n}`. */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** h('p', {class: 'x', text: 'hello'}, child, 'more text') */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A labelled control: <div class="field" data-field=...><label/>control<p class="error"/></div>. */
export function field(label, control, fieldName, hint) {
  const id = control.id || uid('f');
  control.id = id;
  const error = h('p', { class: 'error', id: `${id}-error`, 'aria-live': 'polite' });
  const note = hint
    ? h('p', { class: hint === 'expired' ? 'hint expired' : 'hint', id: `${id}-hint`, text: hint })
    : null;
  control.setAttribute('aria-describedby', note ? `${note.id} ${error.id}` : error.id);
  return h('div', { class: 'field', dataset: { field: fieldName } },
    h('label', { for: id, text: label }), control, note, error);
}

/** <select> of codes; `labels` maps a code to what is shown (default: the code, spaced). */
export function select(options, value, labels = {}) {
  const el = h('select');
  for (const code of options) {
    el.append(h('option', { value: code, text: labels[code] || code.replaceAll('_', ' ') }));
  }
  if (value !== undefined) el.value = value;
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** "2d 3h", "4h 05m", "12m 09s", "45s", or "expired". */
export function countdown(untilMs, nowMs) {
  let s = Math.floor((untilMs - nowMs) / 1000);
  if (s <= 0) return 'expired';
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const mm = Math.floor(s / 60); s -= mm * 60;
  const pad = (n) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${hh}h left`;
  if (hh > 0) return `${hh}h ${pad(mm)}m left`;
  if (mm > 0) return `${mm}m ${pad(s)}s left`;
  return `${s}s left`;
}

export function badge(status) {
  return h('span', { class: `badge st-${status}`, text: status.replaceAll('_', ' ') });
}

export function words(code) {
  return String(code).replaceAll('_', ' ');
}

/** "a, b ,c" -> ['a', 'b', 'c'] */
export function list(text) {
  return String(text).split(',').map((s) => s.trim()).filter(Boolean);
}
