// Offers (teaser, score, reasons, countdown; Accept / Decline with a reason code) and accepted
// leads (the customer revealed; won/lost recorded with the amount). One card per referral, kept
// by id and redrawn only when that lead changed, so typing in one card survives updates to others.

import { badge, clear, countdown, field, h, select, uid, words } from './dom.js';
import { clearErrors, showErrors, submitting } from './forms.js';
import { termsLine } from './terms.js';

export const DECLINE_REASONS = [
  'not_a_fit', 'no_capacity', 'out_of_region', 'conflict_of_interest', 'customer_known',
  'timing', 'deal_too_small', 'other',
];
export const LOST_REASONS = [
  'price', 'competitor', 'no_decision', 'budget', 'timing', 'requirements_not_met',
  'customer_unresponsive', 'other',
];
const OPEN = new Set(['accepted', 'won', 'lost']);

// What makes a lead worth redrawing. A team's prime and members arrive without a new status or
// updated_at (the member's own lead.assembled), so they count too.
function stamp(lead) {
  const t = lead.team || {};
  return `${lead.status}|${lead.updated_at}|${lead.customer ? 1 : 0}|${t.prime ? 1 : 0}|`
    + `${t.members ? t.members.length : '-'}`;
}

export class LeadBoard {
  constructor(api, { offers, accepted, closed, counts }) {
    this.api = api;
    this.lists = { offers, accepted, closed };
    this.counts = counts;
    this.leads = new Map();
    this.cards = new Map();
    this.timer = setInterval(() => this.tick(), 1000);
  }

  stop() {
    clearInterval(this.timer);
  }

  /** A lead from GET /v1/leads, the stream or an action's answer. */
  update(lead) {
    const known = this.leads.get(lead.referral_id);
    if (known && Date.parse(known.updated_at) > Date.parse(lead.updated_at)) return; // replayed
    if (known && stamp(known) === stamp(lead)) return;
    this.leads.set(lead.referral_id, lead);
    const card = this.render(lead);
    const old = this.cards.get(lead.referral_id);
    const list = this.listOf(lead);
    if (old && old.parentNode === list) {
      old.replaceWith(card);
    } else {
      if (old) old.remove();
      list.prepend(card);
    }
    this.cards.set(lead.referral_id, card);
    this.refreshCounts();
  }

  listOf(lead) {
    if (lead.status === 'offered') return this.lists.offers;
    return OPEN.has(lead.status) ? this.lists.accepted : this.lists.closed;
  }

  refreshCounts() {
    for (const [name, list] of Object.entries(this.lists)) {
      const n = list.children.length;
      this.counts[name].textContent = String(n);
      list.closest('section').classList.toggle('is-empty', n === 0);
    }
  }

  tick() {
    const now = Date.now();
    for (const t of document.querySelectorAll('time[data-countdown]')) {
      const text = countdown(Date.parse(t.dateTime), now);
      if (t.textContent !== text) t.textContent = text;
      const offer = t.closest('li.offer');
      if (text === 'expired' && offer) {
        for (const b of offer.querySelectorAll('button')) b.disabled = true;
      }
    }
  }

  render(lead) {
    if (lead.status === 'offered') return this.offerCard(lead);
    if (OPEN.has(lead.status)) return this.acceptedCard(lead);
    return h('li', { class: 'lead closed', dataset: { referral: lead.referral_id } },
      h('span', { class: 'lead-title', text: title(lead) }), ' ', badge(lead.status),
      h('span', { class: 'dim', text: ` from ${lead.originator}` }));
  }

  offerCard(lead) {
    const t = lead.teaser;
    const headingId = uid('offer');
    const card = h('li', { class: 'lead offer', dataset: { referral: lead.referral_id },
      'aria-labelledby': headingId });
    const error = h('p', { class: 'form-error', role: 'alert' });
    const reason = select(DECLINE_REASONS, 'not_a_fit');
    const decline = h('form', { class: 'decline', hidden: true, method: 'post' },
      field('Reason', reason, 'reason'),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'danger', text: 'Confirm decline' }),
        h('button', { type: 'button', class: 'ghost', text: 'Cancel',
          onclick: () => { decline.hidden = true; openDecline.focus(); } })));
    const acceptBtn = h('button', { type: 'button', class: 'primary', text: 'Accept' });
    const openDecline = h('button', { type: 'button', class: 'ghost', text: 'Decline',
      'aria-expanded': 'false' });
    acceptBtn.addEventListener('click', async () => {
      clearErrors(card);
      acceptBtn.disabled = true;
      try {
        const { status, data } = await this.api.accept(lead.referral_id);
        if (status === 200) this.update(data);
      } catch (err) {
        showErrors(card, err);
        acceptBtn.disabled = false;
      }
    });
    openDecline.addEventListener('click', () => {
      decline.hidden = !decline.hidden;
      openDecline.setAttribute('aria-expanded', String(!decline.hidden));
      if (!decline.hidden) reason.focus();
    });
    decline.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const res = await submitting(decline, () => this.api.decline(lead.referral_id, reason.value));
      if (res && res.status === 200) this.update(res.data);
    });
    card.append(
      h('div', { class: 'lead-head' },
        h('h3', { id: headingId, text: title(lead) }),
        h('span', { class: 'score', title: 'routing score', text: lead.score.toFixed(2) })),
      h('p', { class: 'meta', text: [words(t.industry), t.region, `${t.size_band} ${t.currency}`,
        `close by ${t.expected_close}`].join(' · ') }),
      h('p', { class: 'dim', text: `from ${lead.originator} · round ${lead.round}, rank ${lead.rank}` }),
      ...teamLines(lead),
      reasonsList(lead.reasons),
      // The terms in force when the offer was made: accepting the offer accepts them.
      termsLine(lead.terms, 'Accepting accepts the terms'),
      h('p', { class: 'deadline' }, 'Answer within ',
        h('time', { datetime: lead.expires_at, dataset: { countdown: '1' },
          text: countdown(Date.parse(lead.expires_at), Date.now()) })),
      h('div', { class: 'actions' }, acceptBtn, openDecline),
      decline, error);
    return card;
  }

  acceptedCard(lead) {
    const c = lead.customer;
    const headingId = uid('lead');
    const card = h('li', { class: 'lead accepted', dataset: { referral: lead.referral_id },
      'aria-labelledby': headingId });
    card.append(h('div', { class: 'lead-head' },
      h('h3', { id: headingId, text: c ? c.company : title(lead) }), badge(lead.status)));
    if (c) {
      card.append(h('p', { class: 'meta', text: [c.domain, title(lead)].filter(Boolean).join(' · ') }));
      const contacts = h('ul', { class: 'contacts' });
      for (const p of c.contacts || []) {
        contacts.append(h('li', {}, h('b', { text: p.name || '' }), ' ',
          [p.email, p.phone].filter(Boolean).join(' · ')));
      }
      if (contacts.children.length) card.append(contacts);
    } else {
      card.append(h('p', { class: 'dim', text: 'The customer is being revealed…' }));
    }
    if (lead.deal_size) {
      card.append(h('p', { class: 'dim',
        text: `Deal size ${lead.deal_size.amount} ${lead.deal_size.currency} · from ${lead.originator}` }));
    }
    card.append(termsLine(lead.terms, 'Terms accepted'));
    card.append(...teamLines(lead));
    if (lead.status === 'accepted') card.append(this.outcomeForm(lead));
    else card.append(h('p', { class: 'outcome', text: outcomeText(lead) }));
    return card;
  }

  outcomeForm(lead) {
    const result = select(['won', 'lost']);
    const amount = h('input', { type: 'text', inputmode: 'decimal', autocomplete: 'off',
      placeholder: '240000.00' });
    const currency = h('input', { type: 'text', maxlength: '3', autocomplete: 'off',
      value: (lead.deal_size && lead.deal_size.currency) || 'USD' });
    const lost = select(LOST_REASONS);
    const wonFields = h('div', { class: 'row' }, field('Amount won', amount, 'amount'),
      field('Currency', currency, 'currency'));
    const lostField = field('Lost reason', lost, 'reason');
    lostField.hidden = true;
    result.addEventListener('change', () => {
      wonFields.hidden = result.value !== 'won';
      lostField.hidden = result.value !== 'lost';
    });
    const form = h('form', { class: 'outcome-form', method: 'post' },
      h('div', { class: 'row' }, field('Result', result, 'status')), wonFields, lostField,
      h('div', { class: 'actions' }, h('button', { type: 'submit', text: 'Record outcome' })),
      h('p', { class: 'form-error', role: 'alert' }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = result.value === 'won'
        ? { status: 'won', amount: amount.value.trim(), currency: currency.value.trim().toUpperCase() }
        : { status: 'lost', reason: lost.value };
      const res = await submitting(form, () => this.api.outcome(lead.referral_id, body));
      if (res && res.status === 200) this.update(res.data);
    });
    return form;
  }
}

// A team role (docs/teaming.md): the role and the team's size; once accepted the prime; once the
// whole team is assembled, the other members (never before: the API does not say who they are).
function teamLines(lead) {
  const t = lead.team;
  if (!t) return [];
  const lines = [h('p', { class: 'team',
    text: `Team role: ${t.role.map(words).join(' + ')} (one of ${t.size} roles)` })];
  if (t.prime) {
    const c = t.prime.contact;
    lines.push(h('p', { class: 'dim team-prime', text: `Prime: ${t.prime.name || t.prime.partner_id}`
      + ` (${t.prime.partner_id})` + (c ? ` · ${[c.name, c.email, c.phone].filter(Boolean).join(' · ')}` : '') }));
  }
  if (t.members) {
    lines.push(h('p', { class: 'dim', text: 'Team assembled with:' }), h('ul', {
      class: 'team-members', 'aria-label': 'Team members' }, t.members.map((m) => h('li', {
      dataset: { partner: m.partner_id } }, h('b', { text: m.name || m.partner_id }),
    ` (${m.partner_id}) · ${m.needs.map(words).join(' + ')}`))));
  }
  return lines;
}

function title(lead) {
  return lead.title || `${lead.teaser.needs.map(words).join(' + ')} in ${lead.teaser.region}`;
}

const SHOWN_REASONS = 3;

/** A reason's share of the score: its contribution (value x weight / total weight; the
 *  contributions of an offer add up to its score), else the points of an older event. */
function share(r) {
  return typeof r.contribution === 'number' ? r.contribution : r.points;
}

function points(r) {
  const pts = share(r);
  if (typeof pts !== 'number') return '';
  if (typeof r.contribution === 'number') {
    const how = typeof r.value === 'number' && typeof r.weight === 'number'
      ? ` (${Number(r.value.toFixed(2))} x ${Number(r.weight.toFixed(2))})` : '';
    return `+${pts.toFixed(3)}${how}`;
  }
  const rounded = Number(pts.toFixed(2));
  return `${rounded >= 0 ? '+' : ''}${rounded}`;
}

function reasonItems(reasons) {
  return reasons.map((r) => h('li', {},
    h('span', { class: 'factor', text: words(r.factor) }),
    h('span', { class: 'pts', text: points(r) }),
    h('span', { class: 'detail', text: r.detail || '' })));
}

/** The strongest reasons first; the rest behind a disclosure (keyboard: Enter/Space). */
export function reasonsList(reasons, label = 'Why you') {
  const sorted = [...reasons].sort((a, b) => (share(b) ?? 0) - (share(a) ?? 0));
  const box = h('div', { class: 'why' },
    h('ul', { class: 'reasons', 'aria-label': label }, reasonItems(sorted.slice(0, SHOWN_REASONS))));
  const rest = sorted.slice(SHOWN_REASONS);
  if (rest.length) {
    box.append(h('details', {},
      h('summary', { text: `${rest.length} more reason${rest.length > 1 ? 's' : ''}` }),
      h('ul', { class: 'reasons' }, reasonItems(rest))));
  }
  return box;
}

function outcomeText(lead) {
  const o = lead.outcome || {};
  if (lead.status === 'won') {
    return o.amount ? `Won: ${o.amount.amount} ${o.amount.currency}` : 'Won';
  }
  if (lead.status === 'lost') return `Lost${o.reason ? `: ${words(o.reason)}` : ''}`;
  return words(lead.status);
}

export { clear };
