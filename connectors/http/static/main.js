// The partner inbox: sign in with the API key, then the sections below, kept live by the lead
// stream. The key lives in this tab only (sessionStorage), and goes out only as a bearer token.

import { makeApi } from './api.js';
import { clearErrors, showErrors, submitting } from './forms.js';
import { LeadBoard } from './leads.js';
import { OpportunityTracker } from './opportunities.js';
import { ProfileEditor } from './profile.js';
import { renderScorecard } from './scorecard.js';
import { Fees } from './fees.js';
import { Directory, Partnerships } from './partnerships.js';
import { followLeads } from './sse.js';

const KEY = 'oppbus.inbox.key';
const $ = (id) => document.getElementById(id);

// Sections of the signed-in page. A team has no section of its own: the originator follows it on
// its opportunity (opportunities.js), a member on its lead (leads.js).
const SECTIONS = [
  'offers', 'accepted', 'publish', 'opportunities', 'partnerships', 'directory', 'fees', 'profile',
  'scorecard',
];

const SCORE_MS = 5000;
// Partnerships and fees have no stream: read again every COMMERCE_MS, after an action, and
// shortly after a lead changed (a won lead accrues a fee).
const COMMERCE_MS = 5000;

let session = null;

function liveBadge(state) {
  const el = $('live');
  el.textContent = { live: 'live', reconnecting: 'reconnecting…', refused: 'signed out' }[state] || state;
  el.className = `badge live-${state}`;
}

async function refreshScorecard(api, partnerId) {
  try {
    const { data } = await api.scorecard(partnerId);
    renderScorecard($('scorecard-body'), data);
  } catch (err) {
    $('scorecard-body').textContent = err.message;
  }
}

const REVOKED = 'Your key was rotated or revoked: sign in again.';

async function start(key, me) {
  const api = makeApi(key, { onUnauthorized: () => signOut(REVOKED) });
  const abort = new AbortController();
  $('signin').hidden = true;
  $('app').hidden = false;
  $('who').hidden = false;
  $('who-id').textContent = me.partner_id;
  $('who-name').textContent = me.name || me.partner_id;
  const board = new LeadBoard(api, {
    offers: $('offer-list'), accepted: $('accepted-list'), closed: $('closed-list'),
    counts: { offers: $('offers-count'), accepted: $('accepted-count'), closed: $('closed-count') },
  });
  const tracker = new OpportunityTracker(api, me.partner_id, {
    form: $('publish-form'), follow: $('follow-form'), listEl: $('opp-list'), count: $('opp-count'),
  });
  const profile = new ProfileEditor(api, me.partner_id, {
    form: $('profile-form'),
    onName: (name) => { $('who-name').textContent = name; },
  });
  // The scorecard is folded by the worker after the ledger moved: read it again shortly after a
  // lead changed, and every SCORE_MS anyway (referrals this partner gave change it too).
  let scoreTimer = null;
  const scoreSoon = () => {
    clearTimeout(scoreTimer);
    scoreTimer = setTimeout(() => refreshScorecard(api, me.partner_id), 1500);
  };
  const scorePoll = setInterval(() => refreshScorecard(api, me.partner_id), SCORE_MS);
  const directory = new Directory(api, {
    form: $('directory-form'), listEl: $('directory-list'),
    onPropose: (partnerId) => partnerships.startProposal(partnerId),
  });
  const partnerships = new Partnerships(api, me.partner_id, {
    form: $('propose-form'), listEl: $('partnership-list'), count: $('partnerships-count'),
    onChange: () => directory.refresh(),
  });
  const fees = new Fees(api, me.partner_id, {
    statementForm: $('statement-form'), statementBody: $('statement-body'),
    feeList: $('fee-list'), count: $('fees-count'),
  });
  // A failed poll shows nothing: the next one tries again (a revoked key signs out in makeApi).
  const commerce = () => Promise.all([partnerships.load().catch(() => {}), fees.load().catch(() => {})]);
  const commercePoll = setInterval(commerce, COMMERCE_MS);
  let feeTimer = null;
  const feesSoon = () => {
    clearTimeout(feeTimer);
    feeTimer = setTimeout(() => fees.load().catch(() => {}), 1500);
  };
  session = {
    abort, board, tracker,
    stop: () => {
      clearTimeout(scoreTimer); clearInterval(scorePoll); clearInterval(commercePoll); clearTimeout(feeTimer);
    },
  };
  board.refreshCounts();
  const { data } = await api.leads();
  for (const lead of data.leads) board.update(lead);
  followLeads(key, {
    signal: abort.signal,
    onLead: (lead) => { board.update(lead); scoreSoon(); feesSoon(); },
    onState: (state) => {
      liveBadge(state);
      if (state === 'refused') signOut(REVOKED);
    },
  });
  profile.load().catch((err) => showErrors($('profile-form'), err));
  refreshScorecard(api, me.partner_id);
  fees.refreshStatement();
  commerce();
}

function signOut(message = '') {
  sessionStorage.removeItem(KEY);
  if (session) {
    session.abort.abort();
    session.board.stop();
    session.tracker.stop();
    session.stop();
    session = null;
  }
  // Drop everything the previous partner saw: a fresh page, no key.
  window.location.replace(message ? '/inbox?signed-out=1' : '/inbox');
}

async function signIn(key) {
  const { data } = await makeApi(key).me();
  sessionStorage.setItem(KEY, key);
  await start(key, data);
}

function main() {
  const form = $('signin-form');
  if (new URLSearchParams(window.location.search).has('signed-out')) {
    $('signin-note').textContent = 'You were signed out: your key was rotated or revoked.';
    $('signin-note').classList.add('warn');
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = $('api-key');
    const key = input.value.trim();
    if (!key) {
      showErrors(form, { errors: [{ field: 'api_key', message: 'paste your API key' }] });
      return;
    }
    const done = await submitting(form, async () => {
      try {
        await signIn(key);
        return true;
      } catch (err) {
        if (err.status === 401) err.errors = [{ field: 'api_key', message: 'this key is not valid (revoked or mistyped)' }];
        if (err.status === 403) err.errors = [{ field: 'api_key', message: 'that is not a partner API key' }];
        throw err;
      }
    });
    if (done) {
      input.value = '';
      clearErrors(form);
      $('offers-h').focus();
    }
  });
  $('sign-out').addEventListener('click', () => signOut());
  const saved = sessionStorage.getItem(KEY);
  if (saved) {
    signIn(saved).catch(() => {
      sessionStorage.removeItem(KEY);
      $('signin').hidden = false;
    });
  }
}

export { SECTIONS };
main();
