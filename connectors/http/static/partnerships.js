// Partnerships and their terms (GET/POST /v1/partnerships, /accept, /end, PUT …/terms), and the
// directory look-up (GET /v1/directory) whose rows can start a proposal. One card per
// partnership, redrawn only when its revision changed, so a half-typed terms form survives polls.

import { badge, clear, h, list, words } from './dom.js';
import { showErrors, submitting } from './forms.js';
import { reasonsList } from './leads.js';
import { termsFields, termsLine } from './terms.js';

const ORDER = { proposed: 0, active: 1, ended: 2 };

function other(p, me) {
  return p.proposer === me ? p.partner : p.proposer;
}

/** Waiting on me first, then active, proposed, ended; newest change first within each. */
function rank(p, me) {
  return [p.awaiting === me ? 0 : 1, ORDER[p.status], -Date.parse(p.updated_at)];
}

function compare(a, b) {
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

export class Partnerships {
  constructor(api, me, { form, listEl, count, onChange }) {
    this.api = api;
    this.me = me;
    this.form = form;
    this.listEl = listEl;
    this.count = count;
    this.onChange = onChange || (() => {});
    this.cards = new Map();
    this.seen = new Map();
    this.terms = termsFields('terms.');
    form.querySelector('.terms-slot').replaceWith(this.terms.el);
    form.addEventListener('submit', (ev) => { ev.preventDefault(); this.propose(); });
  }

  /** Start a proposal to `partnerId` (from a directory row): fill the id, focus the terms. */
  startProposal(partnerId) {
    this.form.elements.partner_id.value = partnerId;
    this.form.scrollIntoView({ block: 'start' });
    this.terms.first.focus();
  }

  async propose() {
    const ok = this.form.querySelector('.form-ok');
    ok.textContent = '';
    const partnerId = this.form.elements.partner_id.value.trim();
    const res = await submitting(this.form, async () => {
      try {
        return await this.api.propose(partnerId, this.terms.read());
      } catch (err) {
        if (err.status === 404 || err.status === 409) {
          err.errors = [{ field: 'partner_id', message: err.message }];
        }
        throw err;
      }
    });
    if (!res) return;
    ok.textContent = `Proposed to ${res.data.partner}: waiting for them to accept.`;
    this.form.elements.partner_id.value = '';
    this.terms.reset();
    this.show(res.data);
    this.onChange();
  }

  async load() {
    const items = await this.api.partnerships();
    for (const p of items) this.show(p);
  }

  show(p) {
    const before = this.seen.get(p.partnership_id);
    if (before && before.revision >= p.revision) return;
    this.seen.set(p.partnership_id, p);
    const card = this.render(p);
    const old = this.cards.get(p.partnership_id);
    if (old) old.replaceWith(card);
    this.cards.set(p.partnership_id, card);
    this.order();
  }

  order() {
    const sorted = [...this.seen.values()].sort((a, b) => compare(rank(a, this.me), rank(b, this.me)));
    for (const p of sorted) this.listEl.append(this.cards.get(p.partnership_id));
    const live = sorted.filter((p) => p.status !== 'ended').length;
    this.count.textContent = String(live);
    this.listEl.closest('section').classList.toggle('is-empty', sorted.length === 0);
  }

  /** Run an action of a card; the answer is the partnership as it now stands. */
  async act(card, action) {
    const error = card.querySelector(':scope > .form-error');
    error.textContent = '';
    for (const b of card.querySelectorAll('button')) b.disabled = true;
    try {
      const { data } = await action();
      this.show(data);
      this.onChange();
    } catch (err) {
      error.textContent = err.message;
      for (const b of card.querySelectorAll('button')) b.disabled = false;
    }
  }

  render(p) {
    const them = other(p, this.me);
    const id = p.partnership_id;
    const card = h('li', { class: `partnership ps-${p.status}`, dataset: { partnership: id, partner: them } });
    const head = p.proposer === this.me ? 'proposed by you' : `proposed by ${them}`;
    card.append(
      h('div', { class: 'lead-head' }, h('h3', { text: `With ${them}` }), badge(p.status)),
      h('p', { class: 'dim', text: `${head} · ${id}` }),
      termsLine(p.terms, p.status === 'proposed' ? 'Proposed terms' : 'Terms in force'));
    if (p.pending_terms) {
      const who = p.awaiting === this.me ? 'awaiting your acceptance' : `awaiting ${p.awaiting}`;
      card.append(termsLine(p.pending_terms, `New terms, ${who}`));
    }
    if (p.status === 'ended') {
      card.append(h('p', { class: 'dim', text: p.ended_by ? `Ended by ${p.ended_by === this.me ? 'you' : p.ended_by}.` : 'Ended.' }));
      return card;
    }
    const actions = h('div', { class: 'actions' });
    const button = (text, cls, fn, label) => h('button', { type: 'button', class: cls, text,
      'aria-label': label, onclick: fn });
    if (p.awaiting === this.me) {
      const what = p.status === 'proposed' ? 'Accept partnership' : 'Accept new terms';
      actions.append(button(what, 'primary', () => this.act(card, () => this.api.acceptPartnership(id)),
        `${what} with ${them}`));
    }
    const confirmEnd = h('div', { class: 'actions confirm', hidden: true },
      h('span', { text: p.status === 'proposed' ? 'Withdraw or decline this proposal?' : `End the partnership with ${them}?` }),
      button('Confirm end', 'danger', () => this.act(card, () => this.api.endPartnership(id)),
        `Confirm ending the partnership with ${them}`),
      button('Cancel', 'ghost', () => { confirmEnd.hidden = true; endBtn.focus(); }));
    let endText = 'End partnership';
    if (p.status === 'proposed') endText = p.proposer === this.me ? 'Withdraw' : 'Decline';
    const endBtn = button(endText, 'ghost', () => {
      confirmEnd.hidden = false;
      confirmEnd.querySelector('button').focus();
    }, `${endText} (partnership with ${them})`);
    let termsForm = null;
    if (p.status === 'active') {
      const fields = termsFields('', p.pending_terms || p.terms);
      termsForm = h('form', { class: 'new-terms', method: 'post', hidden: true },
        fields.el,
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'Send new terms' })),
        h('p', { class: 'form-error', role: 'alert' }));
      const form = termsForm;
      const toggle = button('Propose new terms', '', () => {
        form.hidden = !form.hidden;
        toggle.setAttribute('aria-expanded', String(!form.hidden));
        if (!form.hidden) fields.first.focus();
      }, `Propose new terms to ${them}`);
      toggle.setAttribute('aria-expanded', 'false');
      actions.append(toggle);
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const res = await submitting(form, () => this.api.proposeTerms(id, fields.read()));
        if (res) {
          this.show(res.data);
          this.onChange();
        }
      });
    }
    actions.append(endBtn);
    card.append(actions, confirmEnd);
    if (termsForm) card.append(termsForm);
    card.append(h('p', { class: 'form-error', role: 'alert' }));
    return card;
  }
}

/** The directory look-up: needs + region (+ industry) -> the ranked long-list with reasons. */
export class Directory {
  constructor(api, { form, listEl, onPropose }) {
    this.api = api;
    this.form = form;
    this.listEl = listEl;
    this.onPropose = onPropose;
    this.query = null;
    form.addEventListener('submit', (ev) => { ev.preventDefault(); this.search(); });
  }

  async search() {
    const v = (name) => this.form.elements[name].value.trim();
    const query = { needs: list(v('needs')).join(','), region: v('region') };
    if (v('industry')) query.industry = v('industry');
    const res = await submitting(this.form, () => this.api.directory(query));
    if (res) {
      this.query = query;
      this.show(res.data.partners);
    }
  }

  /** Search again with the last query (a partnership changed: the rows' status did too). */
  async refresh() {
    if (!this.query) return;
    try {
      const { data } = await this.api.directory(this.query);
      this.show(data.partners);
    } catch (err) {
      showErrors(this.form, err);
    }
  }

  show(partners) {
    clear(this.listEl);
    const status = this.form.querySelector('.form-ok');
    status.textContent = partners.length
      ? `${partners.length} partner${partners.length > 1 ? 's' : ''} fit, best first.`
      : 'Nobody listed fits these needs in this region.';
    for (const [i, x] of partners.entries()) this.listEl.append(this.row(x, i + 1));
  }

  row(x, n) {
    const certs = x.certifications.map((c) => `${c.vendor} ${words(c.capability)} ${c.level}`
      + (c.expires_at ? ` (until ${c.expires_at.slice(0, 10)})` : ''));
    const li = h('li', { class: 'lead found', dataset: { partner: x.partner_id } },
      h('div', { class: 'lead-head' },
        h('h3', {}, h('span', { class: 'rank', text: `${n}. ` }), h('span', { text: x.name })),
        h('span', { class: 'score', title: 'fit score', text: x.score.toFixed(2) })),
      h('p', { class: 'dim', text: `${x.partner_id} · ${x.kind}` }),
      h('p', { class: 'meta', text: `Offers ${x.capabilities.map(words).join(', ')} · in ${x.regions.join(', ')}` }),
      certs.length ? h('p', { class: 'dim', text: `Certified: ${certs.join('; ')}` }) : null,
      reasonsList(x.reasons, `Why ${x.name}`));
    if (x.partnership) {
      li.append(h('p', { class: 'meta' }, 'Partnership: ', badge(x.partnership)));
    } else {
      li.append(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary',
        text: 'Propose partnership', 'aria-label': `Propose partnership to ${x.name}`,
        onclick: () => this.onPropose(x.partner_id) })));
    }
    return li;
  }
}

