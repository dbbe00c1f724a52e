// Publishing an opportunity and following its routing. The bus has no "list my opportunities"
// route: the page follows the ones published (or looked up by id) in this tab.

import { badge, clear, countdown, h, list, words } from './dom.js';
import { showErrors, submitting } from './forms.js';

const SETTLED = new Set(['won', 'lost', 'withdrawn']);
const POLL_MS = 2000;

/** The publish form's values -> the POST /v1/opportunities body (empty optional fields left out). */
export function opportunityBody(form) {
  const v = (name) => form.elements[name].value.trim();
  const body = {
    needs: list(v('needs')),
    region: v('region'),
    industry: v('industry'),
    deal_size: { amount: v('amount'), currency: v('currency').toUpperCase() },
    expected_close: v('expected_close'),
    customer: { company: v('company'), domain: v('domain'), contacts: [] },
    max_partners: Number(v('max_partners') || '1'),
  };
  if (form.elements.team && form.elements.team.checked) body.team = true;
  if (v('opportunity_id')) body.opportunity_id = v('opportunity_id');
  if (v('title')) body.title = v('title');
  if (v('contact_name') || v('contact_email')) {
    body.customer.contacts.push({ name: v('contact_name'), email: v('contact_email') });
  }
  if (v('respond_within_h')) body.respond_within_s = Math.round(Number(v('respond_within_h')) * 3600);
  return body;
}

export class OpportunityTracker {
  constructor(api, partnerId, { form, follow, listEl, count }) {
    this.api = api;
    this.storeKey = `oppbus.inbox.opportunities.${partnerId}`;
    this.listEl = listEl;
    this.count = count;
    this.cards = new Map();
    this.views = new Map();
    this.ids = JSON.parse(sessionStorage.getItem(this.storeKey) || '[]');
    form.addEventListener('submit', (ev) => { ev.preventDefault(); this.publish(form); });
    follow.addEventListener('submit', (ev) => { ev.preventDefault(); this.follow(follow); });
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.poll();
  }

  stop() {
    clearInterval(this.timer);
  }

  async publish(form) {
    const res = await submitting(form, () => this.api.publish(opportunityBody(form)));
    if (!res) return;
    const status = form.querySelector('.form-ok');
    status.textContent = `Published ${res.data.opportunity_id}${res.data.duplicate ? ' (already published)' : ''}.`;
    form.reset();
    this.track(res.data.opportunity_id);
  }

  async follow(form) {
    const id = form.elements.follow_id.value.trim();
    const res = await submitting(form, async () => {
      if (!id) throw { message: 'type the id of one of your opportunities', errors: [{ field: 'opportunity_id', message: 'required' }] };
      return this.api.opportunity(id);
    });
    if (res) {
      form.reset();
      this.track(id, res.data);
    }
  }

  track(id, view) {
    if (!this.ids.includes(id)) {
      this.ids.unshift(id);
      sessionStorage.setItem(this.storeKey, JSON.stringify(this.ids));
    }
    if (view) this.show(view);
    else this.load(id);
  }

  async load(id) {
    try {
      const { data } = await this.api.opportunity(id);
      this.show(data);
    } catch (err) {
      if (err.status === 404) this.forget(id);
    }
  }

  forget(id) {
    this.ids = this.ids.filter((x) => x !== id);
    sessionStorage.setItem(this.storeKey, JSON.stringify(this.ids));
  }

  poll() {
    for (const id of this.ids) {
      const view = this.views.get(id);
      if (!view || !SETTLED.has(view.status)) this.load(id);
    }
  }

  show(view) {
    const id = view.opportunity_id;
    const before = this.views.get(id);
    if (before && JSON.stringify(before) === JSON.stringify(view)) return;
    this.views.set(id, view);
    const card = this.render(view);
    const old = this.cards.get(id);
    if (old) old.replaceWith(card);
    else this.listEl.prepend(card);
    this.cards.set(id, card);
    this.count.textContent = String(this.cards.size);
    this.listEl.closest('section').classList.toggle('is-empty', this.cards.size === 0);
  }

  render(view) {
    const o = view.opportunity;
    const card = h('li', { class: 'opp', dataset: { opportunity: view.opportunity_id } },
      h('div', { class: 'lead-head' },
        h('h3', { text: o.title || `${o.needs.map(words).join(' + ')} for ${o.customer.company}` }),
        badge(view.status)),
      h('p', { class: 'meta', text: [view.opportunity_id, o.customer.company, o.region, words(o.industry),
        `${o.deal_size.amount} ${o.deal_size.currency}`].join(' · ') }));
    if (view.offers.length) {
      const rows = view.offers.map((x) => h('tr', {},
        h('th', { scope: 'row', text: x.partner_id }), h('td', {}, badge(x.status)),
        h('td', { text: x.score.toFixed(2) }),
        h('td', {}, x.status === 'offered'
          ? h('time', { datetime: x.expires_at, dataset: { countdown: '1' },
            text: countdown(Date.parse(x.expires_at), Date.now()) })
          : '')));
      card.append(h('table', { class: 'offers' },
        h('caption', { class: 'sr-only', text: `Offers of ${view.opportunity_id}` }),
        h('thead', {}, h('tr', {}, ...['Partner', 'Status', 'Score', 'Deadline'].map(
          (t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, rows)));
    } else {
      card.append(h('p', { class: 'dim', text: 'Routing: no offer yet.' }));
    }
    if (view.team) card.append(teamBlock(view));
    for (const n of view.notices) {
      card.append(h('p', { class: 'notice', text: words(n.type || 'notice') }));
    }
    return card;
  }
}

/** The team of a team opportunity (docs/teaming.md), under its offers: the team's status and
 *  each role with its needs, its status, the member once it accepted and why it stayed unfilled. */
export function teamBlock(view) {
  const t = view.team;
  const roles = t.roles.map((r) => h('li', { dataset: { role: r.needs.join('+') } },
    h('span', { class: 'role-needs', text: r.needs.map(words).join(' + ') }), ' ', badge(r.status),
    r.partner_id ? h('span', { class: 'dim', text: ` ${r.partner_id}` }) : null,
    r.reason ? h('p', { class: 'detail', text: r.reason }) : null));
  return h('div', { class: 'team' },
    h('p', { class: 'team-status' }, `Team of ${t.roles.length} roles `, badge(t.status)),
    h('ul', { class: 'team-roles', 'aria-label': `Roles of ${view.opportunity_id}` }, roles));
}

export { clear, showErrors };
