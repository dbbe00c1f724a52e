// API errors shown next to the control they name: each control sits in a [data-field] wrapper
// whose name is a dotted path of the request body ("deal_size.amount"); an error is shown at the
// wrapper with the longest matching path, else at the form's own error line.

import { uid } from './dom.js';

export function clearErrors(root) {
  for (const p of root.querySelectorAll('.error')) p.textContent = '';
  for (const el of root.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

function wrapperFor(root, name) {
  let best = null;
  for (const w of root.querySelectorAll('[data-field]')) {
    const f = w.dataset.field;
    if ((name === f || name.startsWith(`${f}.`)) && (!best || f.length > best.dataset.field.length)) {
      best = w;
    }
  }
  return best;
}

/** Make screen readers read the error with the control. */
function describe(control, p) {
  if (!p.id) p.id = uid('err');
  const ids = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  if (!ids.includes(p.id)) control.setAttribute('aria-describedby', [...ids, p.id].join(' '));
}

function put(p, message) {
  p.textContent = p.textContent ? `${p.textContent}; ${message}` : message;
}

/** Show an ApiError in `root`; returns the first control marked invalid (to focus it). */
export function showErrors(root, err) {
  clearErrors(root);
  const general = root.querySelector('.form-error');
  let first = null;
  const errors = err.errors && err.errors.length ? err.errors : [{ field: '$', message: err.message }];
  for (const e of errors) {
    const w = e.field && e.field !== '$' ? wrapperFor(root, e.field) : null;
    if (!w) {
      if (general) put(general, e.field && e.field !== '$' ? `${e.field}: ${e.message}` : e.message);
      continue;
    }
    const p = w.querySelector('.error');
    put(p, e.message);
    const control = w.querySelector('input, select, textarea');
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      describe(control, p);
      first = first || control;
    }
  }
  if (first) first.focus();
  return first;
}

/** Run `action` with the form's submit button disabled; errors land next to their fields. */
export async function submitting(form, action) {
  const button = form.querySelector('button[type="submit"]');
  clearErrors(form);
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (err) {
    showErrors(form, err);
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}
