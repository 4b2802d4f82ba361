import { createHash } from 'node:crypto';

/**
 * The one rule set for secrets by value: `spotfusion validate` and `deploy` (flow-check.ts) apply it to every
 * string of every node, the CI repo scan (secret-scan.ts) to every line of every file, the plant validator to
 * the plant file. Credentials in URLs, token shapes, password-like assignments (function node code), private
 * keys, and the legacy system's passwords (held here only as salted hashes).
 */
export interface SecretRule {
  name: string;
  re: RegExp;
  /** a match whose value part (group 1) is a placeholder is not a secret */
  placeholderOk?: boolean;
}

/** Values that stand for a secret without being one: ${ENV}, <placeholder>, process.env…, asterisks, "changeme". */
const PLACEHOLDER = /^(\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*|<[^>]*>|\{\{[^}]*\}\}|\*+|x+|\.\.\.|…|(process\.)?env\.|example|placeholder|redacted|secret|password|passwort|kennwort|changeme|your[-_]?\w*|none|null|undefined|)$/i;

export const SECRET_RULES: readonly SecretRule[] = [
  { name: 'private key', re: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/ },
  { name: 'AWS access key id', re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b/ },
  { name: 'AWS secret access key', re: /aws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})\b/i, placeholderOk: true },
  { name: 'GitHub/GitLab/Slack token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,})\b/ },
  { name: 'JSON Web Token', re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/ },
  { name: 'bearer token', re: /\bBearer\s+([A-Za-z0-9\-._~+/]{20,}=*)/, placeholderOk: true },
  {
    name: 'password or secret literal',
    re: /\b(?:pass(?:word|wd|phrase)?|pwd?|secret|api[_-]?key|access[_-]?key|auth[_-]?token|credentialSecret|client[_-]?secret)["']?\s*[:=]\s*["'`]([^"'`\s]{3,})["'`]/i,
    placeholderOk: true,
  },
  { name: 'credentials in a URL', re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@"'`]+:([^\s/@"'`]+)@[^\s/"'`]+/i, placeholderOk: true },
];

/** A line that must hold a pattern on purpose (a test of the rules) says so on that line. */
export const ALLOW = /secret-scan:\s*allow/;

export interface SecretHit {
  rule: string;
  /** the matched text: callers mask it before they print anything */
  match: string;
}

/**
 * The legacy system's hard-coded passwords (backlog SEC-01), as fingerprints only: length, a rolling hash to
 * find candidates quickly in long text, and a salted SHA-256 that confirms a candidate. The plain passwords
 * are in no file of the package; tests read them from the legacy backlog.
 */
interface Fingerprint {
  length: number;
  roll: number;
  sha256: string;
}
const SALT = 'spotfusion-legacy-blocklist-v1';
const BASE = 257;
const MOD = 2147483647;
export const LEGACY_PASSWORD_FINGERPRINTS: readonly Fingerprint[] = [
  { length: 15, roll: 2087857397, sha256: 'afc197685d408330d377e54ed951ba16cb391d60d536ac02f96a9783644e4c53' },
  { length: 9, roll: 1169581505, sha256: '9b232046fa0e4918a28c74b5010fc89140196a80d702b456da59734beb3ba16c' },
];

/** The fingerprint of a password, as LEGACY_PASSWORD_FINGERPRINTS holds it (for adding one to the list). */
export function fingerprint(password: string): Fingerprint {
  let roll = 0;
  for (let i = 0; i < password.length; i++) roll = (roll * BASE + password.charCodeAt(i)) % MOD;
  return { length: password.length, roll, sha256: createHash('sha256').update(SALT + password).digest('hex') };
}

/** The first legacy password found in `text`, or undefined (a Rabin–Karp scan per password length). */
export function findLegacyPassword(text: string): string | undefined {
  for (const len of new Set(LEGACY_PASSWORD_FINGERPRINTS.map((f) => f.length))) {
    if (text.length < len) continue;
    const wanted = LEGACY_PASSWORD_FINGERPRINTS.filter((f) => f.length === len);
    let top = 1; // BASE^(len-1) mod MOD
    for (let i = 1; i < len; i++) top = (top * BASE) % MOD;
    let h = 0;
    for (let i = 0; i < len; i++) h = (h * BASE + text.charCodeAt(i)) % MOD;
    for (let i = 0; ; i++) {
      if (wanted.some((f) => f.roll === h)) {
        const candidate = text.slice(i, i + len);
        const sha = createHash('sha256').update(SALT + candidate).digest('hex');
        if (wanted.some((f) => f.sha256 === sha)) return candidate;
      }
      if (i + len >= text.length) break;
      h = (h - ((text.charCodeAt(i) * top) % MOD) + MOD) % MOD;
      h = (h * BASE + text.charCodeAt(i + len)) % MOD;
    }
  }
  return undefined;
}

/** Every rule that one line of text breaks (the legacy passwords included). */
export function secretsInLine(line: string): SecretHit[] {
  const out: SecretHit[] = [];
  const legacy = findLegacyPassword(line);
  if (legacy !== undefined) out.push({ rule: 'legacy password', match: legacy });
  for (const rule of SECRET_RULES) {
    const m = rule.re.exec(line);
    if (!m) continue;
    const value = m[1];
    if (rule.placeholderOk && value !== undefined && (PLACEHOLDER.test(value) || value.includes('${'))) continue;
    out.push({ rule: rule.name, match: m[0] });
  }
  return out;
}

/** Every rule a text breaks, line by line; lines marked `secret-scan: allow` are skipped. */
export function secretsIn(text: string): Array<SecretHit & { line: number }> {
  const out: Array<SecretHit & { line: number }> = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (ALLOW.test(line)) return;
    for (const hit of secretsInLine(line)) out.push({ ...hit, line: i + 1 });
  });
  return out;
}

/** The secret with its middle masked, so a report does not republish it. */
export function mask(s: string): string {
  return s.length <= 8 ? `${s.slice(0, 2)}…` : `${s.slice(0, 4)}…${s.slice(-2)}`;
}
