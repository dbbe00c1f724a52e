// Terms of engagement (a partnership's, or the network default an offer carries): shown as one
// sentence, and edited with a small set of labelled fields whose names are the paths of the API's
// terms body, so a 422 lands next to the control it names ("terms.referral_fee.percent").

import { field, h, select } from './dom.js';

const FEE_KINDS = { percent: 'Percentage of the won amount', flat: 'Flat amount per won referral' };

/** "10 % of the won amount, at most 20000.00 USD; correctable 30 days after the win, paid
 *  within 30 days of approval" (null: no terms, no fee). */
export function termsText(terms) {
  if (!terms) return 'No terms: no referral fee is due.';
  const fee = terms.referral_fee;
  const what = 'percent' in fee
    ? `${fee.percent} % of the won amount`
    : `${fee.amount} ${fee.currency} per won referral`;
  const cap = terms.cap ? `, at most ${terms.cap.amount} ${terms.cap.currency}` : '';
  const days = (n) => `${n} day${n === 1 ? '' : 's'}`;
  return `${what}${cap}; correctable ${days(terms.approval_days)} after the win, paid within `
    + `${days(terms.payment_days)} of approval`;
}

/** "Terms (version 2): 10 % of …" as a <p>; `lead` words it for an offer ("Accepting accepts
 *  the terms"). No terms: "No terms: no referral fee is due." */
export function termsLine(terms, lead = '') {
  if (!terms) return h('p', { class: 'terms none', text: termsText(null) });
  return h('p', { class: 'terms' },
    h('b', { text: `${lead || 'Terms'} (version ${terms.version}): ` }), termsText(terms));
}

/**
 * The terms controls, for a form: `prefix` is where the terms sit in the request body ('terms.'
 * for a proposal, '' for new terms). Returns {el, read(), fill(terms)}.
 */
export function termsFields(prefix = '', terms = null) {
  const p = prefix;
  const kind = select(Object.keys(FEE_KINDS), 'percent', FEE_KINDS);
  const input = (attrs) => h('input', { type: 'text', autocomplete: 'off', ...attrs });
  const percent = input({ inputmode: 'decimal', placeholder: '10' });
  const amount = input({ inputmode: 'decimal', placeholder: '500.00' });
  const currency = input({ maxlength: '3', value: 'USD' });
  const capAmount = input({ inputmode: 'decimal', placeholder: 'none' });
  const capCurrency = input({ maxlength: '3', value: 'USD' });
  const approval = h('input', { type: 'number', min: '0', max: '365', value: '30' });
  const payment = h('input', { type: 'number', min: '0', max: '365', value: '30' });
  const percentRow = h('div', { class: 'row' }, field('Fee percent', percent, `${p}referral_fee.percent`));
  const flatRow = h('div', { class: 'row' },
    field('Fee amount', amount, `${p}referral_fee.amount`),
    h('div', { class: 'narrow-wrap' }, field('Fee currency', currency, `${p}referral_fee.currency`)));
  // "cap" itself (a cap in another currency than a flat fee) is shown at the cap's currency.
  const el = h('fieldset', { class: 'terms-fields' },
    h('legend', { text: 'Terms' }),
    h('div', { class: 'row' }, field('Referral fee', kind, `${p}referral_fee`)),
    percentRow, flatRow,
    h('div', { class: 'row' },
      field('Cap (optional)', capAmount, `${p}cap.amount`, 'Most one referral can cost.'),
      h('div', { class: 'narrow-wrap' }, field('Cap currency', capCurrency, `${p}cap`))),
    h('div', { class: 'row' },
      field('Approval days', approval, `${p}approval_days`, 'The outcome can be corrected this long.'),
      field('Payment days', payment, `${p}payment_days`, 'Days after approval to pay.')));
  const show = () => {
    percentRow.hidden = kind.value !== 'percent';
    flatRow.hidden = kind.value !== 'flat';
  };
  kind.addEventListener('change', show);
  const days = (control) => {
    const raw = control.value.trim();
    if (raw === '') return undefined; // the API's default (30)
    return /^\d+$/.test(raw) ? Number(raw) : raw; // not a whole number: the API names the field
  };
  function read() {
    const body = {
      referral_fee: kind.value === 'percent'
        ? { percent: percent.value.trim() }
        : { amount: amount.value.trim(), currency: currency.value.trim().toUpperCase() },
    };
    if (capAmount.value.trim()) {
      body.cap = { amount: capAmount.value.trim(), currency: capCurrency.value.trim().toUpperCase() };
    }
    for (const [name, control] of [['approval_days', approval], ['payment_days', payment]]) {
      const v = days(control);
      if (v !== undefined) body[name] = v;
    }
    return body;
  }
  function fill(t) {
    if (!t) return;
    const fee = t.referral_fee;
    kind.value = 'percent' in fee ? 'percent' : 'flat';
    percent.value = fee.percent || '';
    amount.value = fee.amount || '';
    currency.value = fee.currency || 'USD';
    capAmount.value = t.cap ? t.cap.amount : '';
    capCurrency.value = t.cap ? t.cap.currency : 'USD';
    approval.value = String(t.approval_days);
    payment.value = String(t.payment_days);
    show();
  }
  function reset() {
    fill({ referral_fee: { percent: '' }, approval_days: 30, payment_days: 30 });
    capCurrency.value = 'USD';
    currency.value = 'USD';
  }
  fill(terms);
  show();
  return { el, read, fill, reset, first: kind };
}
