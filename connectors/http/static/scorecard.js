// The partner's scorecard (GET /v1/partners/{id}/scorecard): what it received and gave, rates,
// time to accept and revenue. Refreshed when a lead of the partner changes.

import { clear, h } from './dom.js';

const pct = (r) => (r === null || r === undefined ? '–' : `${Math.round(r * 100)} %`);

function duration(s) {
  if (s === null || s === undefined) return '–';
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function money(byCurrency) {
  const parts = Object.entries(byCurrency || {}).map(([cur, amount]) => `${amount} ${cur}`);
  return parts.length ? parts.join(', ') : '–';
}

export function renderScorecard(root, card) {
  const tiles = [
    ['received', 'Offers received', card.received], ['accepted', 'Accepted', card.accepted],
    ['declined', 'Declined', card.declined], ['expired', 'Expired', card.expired],
    ['won', 'Won', card.won], ['lost', 'Lost', card.lost],
    ['open_offers', 'Open offers', card.open_offers],
    ['acceptance_rate', 'Acceptance rate', pct(card.acceptance_rate)],
    ['win_rate', 'Win rate', pct(card.win_rate)],
    ['median_seconds_to_accept', 'Median time to accept', duration(card.median_seconds_to_accept)],
    ['given', 'Referrals given', card.given], ['given_won', 'Given and won', card.given_won],
  ];
  clear(root).append(
    h('dl', { class: 'tiles' }, tiles.map(([key, label, v]) => h('div', { class: 'tile', dataset: { stat: key } },
      h('dt', { text: label }), h('dd', { text: String(v) })))),
    h('dl', { class: 'revenue' },
      h('dt', { text: 'Revenue won' }), h('dd', { dataset: { stat: 'revenue_won' }, text: money(card.revenue_won) }),
      h('dt', { text: 'Revenue from referrals you gave' }),
      h('dd', { dataset: { stat: 'revenue_from_given' }, text: money(card.revenue_from_given) })));
}
