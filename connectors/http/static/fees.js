// Fees: the statement (GET /v1/partners/{id}/statement: receivable, payable and net per
// counterparty and currency, for a date range; CSV download), and the fee entries (GET /v1/fees)
// with Settle for the payee (POST /v1/fees/{id}/settle {reference}).
//
// The CSV is fetched with the bearer header and saved from memory (a Blob and an object URL): a
// plain download link would have to carry the key in its URL.

import { badge, clear, field, h } from './dom.js';
import { showErrors, submitting } from './forms.js';

function stamp(fee) {
  return `${fee.status}|${fee.reference || ''}`;
}

function day(iso) {
  return iso ? iso.slice(0, 10) : '';
}

export class Fees {
  constructor(api, me, { statementForm, statementBody, feeList, count }) {
    this.api = api;
    this.me = me;
    this.form = statementForm;
    this.body = statementBody;
    this.feeList = feeList;
    this.count = count;
    this.cards = new Map();
    this.fees = new Map();
    this.range = {};
    statementForm.addEventListener('submit', (ev) => { ev.preventDefault(); this.showStatement(); });
    statementForm.querySelector('.download').addEventListener('click', () => this.download());
  }

  /** The form's date range; an empty date is an open end. */
  readRange() {
    const range = {};
    for (const name of ['from', 'to']) {
      const v = this.form.elements[name].value.trim();
      if (v) range[name] = v;
    }
    return range;
  }

  async showStatement() {
    const range = this.readRange();
    const res = await submitting(this.form, () => this.api.statement(this.me, range));
    if (res) {
      this.range = range;
      this.renderStatement(res.data);
    }
  }

  async refreshStatement() {
    try {
      const { data } = await this.api.statement(this.me, this.range);
      this.renderStatement(data);
    } catch (err) {
      showErrors(this.form, err);
    }
  }

  renderStatement(s) {
    const period = `${s.from || 'the start'} to ${s.to || 'today'}`;
    clear(this.body);
    if (!s.counterparties.length) {
      this.body.append(h('p', { class: 'dim', text: `No fees from ${period}.` }));
      return;
    }
    // data-label: on a narrow screen each row stands as a small card, its cells labelled (CSS).
    const money = (v, label) => h('td', { class: 'num', text: v, dataset: { label } });
    const rows = s.counterparties.map((r) => h('tr', { dataset: { counterparty: r.partner_id, currency: r.currency } },
      h('th', { scope: 'row', text: r.partner_id }), h('td', { text: r.currency, dataset: { label: 'Currency' } }),
      money(r.receivable, 'Receivable'), money(r.payable, 'Payable'), money(r.net, 'Net')));
    this.body.append(
      h('div', { class: 'scroll' }, h('table', { class: 'statement' },
        h('caption', { text: `Statement from ${period}` }),
        h('thead', {}, h('tr', {}, ...['Counterparty', 'Currency', 'Receivable', 'Payable', 'Net'].map(
          (t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, rows))));
    const position = Object.entries(s.position || {});
    if (position.length) {
      this.body.append(h('p', { class: 'meta position' },
        h('b', { text: 'Net against the network: ' }),
        position.map(([cur, v]) => `${v} ${cur}`).join(', ')));
    }
  }

  async download() {
    const range = this.readRange();
    const status = this.form.querySelector('.form-ok');
    status.textContent = '';
    const blob = await submitting(this.form, () => this.api.statementCsv(this.me, range));
    if (!blob) return;
    const name = `statement-${this.me}-${range.from || 'start'}-${range.to || 'today'}.csv`;
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    status.textContent = `Saved ${name}.`;
  }

  /** Read the fee entries again; returns true when any changed (the statement is then stale). */
  async load() {
    const fees = await this.api.fees();
    let changed = false;
    for (const fee of fees) {
      const before = this.fees.get(fee.fee_id);
      if (before && stamp(before) === stamp(fee)) continue;
      changed = true;
      this.fees.set(fee.fee_id, fee);
      const card = this.render(fee);
      const old = this.cards.get(fee.fee_id);
      if (old) old.replaceWith(card);
      else this.feeList.prepend(card);
      this.cards.set(fee.fee_id, card);
    }
    this.count.textContent = String(this.cards.size);
    this.feeList.closest('section').classList.toggle('is-empty', this.cards.size === 0);
    if (changed) await this.refreshStatement();
    return changed;
  }

  render(fee) {
    const payee = fee.payee === this.me;
    const li = h('li', { class: `lead fee fee-${fee.status}`, dataset: { fee: fee.fee_id } },
      h('div', { class: 'lead-head' },
        h('h3', { text: payee ? `${fee.payer} owes you` : `You owe ${fee.payee}` }),
        h('span', { class: 'amount', text: `${fee.amount} ${fee.currency}` })),
      h('p', { class: 'meta' }, badge(fee.status), ' ',
        `terms version ${fee.terms_version} · referral ${fee.referral_id}`),
      h('p', { class: 'dim', text: `${fee.fee_id} · accrued ${day(fee.accrued_at)} · `
        + `approved from ${day(fee.approve_at)}` }));
    if (fee.status === 'settled') {
      li.append(h('p', { class: 'dim', text: `Settled, reference ${fee.reference}` }));
    } else if (payee && fee.status === 'approved') {
      li.append(this.settleForm(fee));
    } else if (payee && fee.status === 'pending') {
      li.append(h('p', { class: 'dim', text: `You can settle it once approved (${day(fee.approve_at)}).` }));
    }
    return li;
  }

  settleForm(fee) {
    const reference = h('input', { type: 'text', autocomplete: 'off', maxlength: '200',
      placeholder: 'WIRE-2027-0001' });
    const form = h('form', { class: 'settle inline', method: 'post' },
      field('Payment reference', reference, 'reference', 'The reference of the payment you received.'),
      h('button', { type: 'submit', class: 'primary', text: 'Settle',
        'aria-label': `Settle ${fee.amount} ${fee.currency} from ${fee.payer}` }),
      h('p', { class: 'form-error', role: 'alert' }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const res = await submitting(form, () => this.api.settle(fee.fee_id, reference.value.trim()));
      if (res) await this.load();
    });
    return form;
  }
}
