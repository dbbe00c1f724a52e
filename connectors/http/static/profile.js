// The partner's profile (GET/PUT /v1/partners/{id}): capabilities, regions, certifications and
// their expiry, competitors, capacity, accepting. Lists are typed comma-separated.

import { clear, field, h, list, uid } from './dom.js';
import { submitting } from './forms.js';

const KINDS = ['reseller', 'distributor', 'msp', 'consultant', 'isv'];
const DAY_MS = 86400000;

function expiry(iso) {
  if (!iso) return 'no expiry';
  const days = Math.floor((Date.parse(iso) - Date.now()) / DAY_MS);
  if (days < 0) return 'expired';
  return days === 0 ? 'expires today' : `expires in ${days} d`;
}

export class ProfileEditor {
  constructor(api, partnerId, { form, onName }) {
    this.api = api;
    this.partnerId = partnerId;
    this.form = form;
    this.onName = onName;
    this.profile = null;
    this.certs = form.querySelector('.certs');
    form.querySelector('.add-cert').addEventListener('click', () => {
      const row = this.certRow({}, this.certs.children.length);
      this.certs.append(row);
      row.querySelector('input').focus();
    });
    form.addEventListener('submit', (ev) => { ev.preventDefault(); this.save(); });
  }

  async load() {
    const { data } = await this.api.profile(this.partnerId);
    this.fill(data);
  }

  fill(p) {
    this.profile = p;
    const el = this.form.elements;
    el.name.value = p.name;
    el.kind.value = p.kind;
    el.capabilities.value = p.capabilities.join(', ');
    el.regions.value = p.regions.join(', ');
    el.competitors.value = p.competitors.join(', ');
    el.refuses.value = p.refuses.join(', ');
    el.capacity.value = String(p.capacity);
    el.accepting.checked = p.accepting;
    clear(this.certs);
    p.certifications.forEach((c, i) => this.certs.append(this.certRow(c, i)));
    this.onName(p.name);
  }

  certRow(cert, i) {
    const input = (name, value, type = 'text') => h('input', { type, name, value: value || '',
      autocomplete: 'off' });
    const expires = input('expires_at', cert.expires_at ? cert.expires_at.slice(0, 10) : '', 'date');
    const row = h('fieldset', { class: 'cert', dataset: { field: `certifications.${i}` } },
      h('legend', { text: `Certification ${i + 1}` }),
      field('Vendor', input('vendor', cert.vendor), `certifications.${i}.vendor`),
      field('Capability', input('capability', cert.capability), `certifications.${i}.capability`),
      field('Level', input('level', cert.level || 'certified'), `certifications.${i}.level`),
      field('Expires', expires, `certifications.${i}.expires_at`,
        cert.vendor ? expiry(cert.expires_at) : undefined),
      h('button', { type: 'button', class: 'ghost', text: 'Remove',
        'aria-label': `Remove certification ${i + 1}`,
        onclick: () => { row.remove(); this.renumber(); } }),
      h('p', { class: 'error' }));
    row.id = uid('cert');
    return row;
  }

  renumber() {
    const certs = this.collectCerts();
    clear(this.certs);
    certs.forEach((c, i) => this.certs.append(this.certRow(c, i)));
  }

  collectCerts() {
    return [...this.certs.querySelectorAll('fieldset.cert')].map((row) => {
      const v = (n) => row.querySelector(`input[name="${n}"]`).value.trim();
      const cert = { vendor: v('vendor'), capability: v('capability'), level: v('level') || 'certified' };
      cert.expires_at = v('expires_at') ? `${v('expires_at')}T00:00:00Z` : null;
      return cert;
    });
  }

  body() {
    const el = this.form.elements;
    return {
      name: el.name.value.trim(),
      kind: el.kind.value,
      capabilities: list(el.capabilities.value),
      certifications: this.collectCerts(),
      regions: list(el.regions.value),
      accepting: el.accepting.checked,
      capacity: Number(el.capacity.value),
      competitors: list(el.competitors.value),
      refuses: list(el.refuses.value),
      industries: (this.profile && this.profile.industries) || [],
    };
  }

  async save() {
    const ok = this.form.querySelector('.form-ok');
    ok.textContent = '';
    const res = await submitting(this.form, () => this.api.saveProfile(this.partnerId, this.body()));
    if (res) {
      this.fill(res.data);
      ok.textContent = `Saved (version ${res.data.version}).`;
    }
  }
}

export { KINDS };
