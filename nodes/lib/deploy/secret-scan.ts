import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { LEGACY_PASSWORDS } from './flow-check';

/**
 * Secret scanner for CI (scripts/scan-secrets.mjs): the legacy system's hard-coded passwords plus generic
 * secrets — private keys, AWS-style keys, password/token literals, bearer tokens, credentials inside URLs —
 * in every text file of the folders a package or a deployment carries. A line that must hold a pattern on
 * purpose (the scanner's own list) says `secret-scan: allow` on that line.
 */
export interface SecretFinding {
  file: string;
  line: number;
  rule: string;
  /** the matched text with its middle masked, so the report does not republish the secret */
  excerpt: string;
}

interface Rule {
  name: string;
  re: RegExp;
  /** a match whose value part (group 1) is a placeholder is not a secret */
  placeholderOk?: boolean;
}

/** Values that stand for a secret without being one: ${ENV}, <placeholder>, process.env…, asterisks, "changeme". */
const PLACEHOLDER = /^(\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*|<[^>]*>|\{\{[^}]*\}\}|\*+|x+|\.\.\.|…|(process\.)?env\.|example|placeholder|redacted|secret|password|changeme|your[-_]?\w*|none|null|undefined|)$/i;

export const SECRET_RULES: readonly Rule[] = [
  { name: 'private key', re: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/ },
  { name: 'AWS access key id', re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b/ },
  { name: 'AWS secret access key', re: /aws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})\b/i, placeholderOk: true },
  { name: 'GitHub/GitLab/Slack token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,})\b/ },
  { name: 'JSON Web Token', re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/ },
  { name: 'bearer token', re: /\bBearer\s+([A-Za-z0-9\-._~+/]{20,}=*)/, placeholderOk: true },
  {
    name: 'password or secret literal',
    re: /\b(?:pass(?:word|wd|phrase)?|pwd|secret|api[_-]?key|access[_-]?key|auth[_-]?token|credentialSecret|client[_-]?secret)["']?\s*[:=]\s*["'`]([^"'`\s]{3,})["'`]/i,
    placeholderOk: true,
  },
  { name: 'credentials in a URL', re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@"'`]+:([^\s/@"'`]+)@[^\s/"'`]+/i, placeholderOk: true },
];

const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage', '.git', '.userdir', '.node22', 'results']);
const TEXT_EXT = /\.(ts|js|cjs|mjs|json|html|md|ya?ml|sh|service|conf|env|txt|toml|ini|py|sql)$|(^|[/\\])(Dockerfile|[^/\\.]+)$/;
const ALLOW = /secret-scan:\s*allow/;

function mask(s: string): string {
  return s.length <= 8 ? `${s.slice(0, 2)}…` : `${s.slice(0, 4)}…${s.slice(-2)}`;
}

/** Findings in one text; `file` only labels them. */
export function scanText(text: string, file: string): SecretFinding[] {
  const out: SecretFinding[] = [];
  text.split(/\r?\n/).forEach((lineText, i) => {
    if (ALLOW.test(lineText)) return;
    for (const pw of LEGACY_PASSWORDS) if (lineText.includes(pw)) out.push({ file, line: i + 1, rule: 'legacy password', excerpt: mask(pw) });
    for (const rule of SECRET_RULES) {
      const m = rule.re.exec(lineText);
      if (!m) continue;
      const value = m[1];
      if (rule.placeholderOk && value !== undefined && (PLACEHOLDER.test(value) || value.includes('${'))) continue;
      out.push({ file, line: i + 1, rule: rule.name, excerpt: mask(m[0]) });
    }
  });
  return out;
}

/** Every text file under `paths` (files or folders, relative to `root`). */
export function filesToScan(root: string, paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (abs: string): void => {
    const st = statSync(abs);
    if (st.isDirectory()) {
      for (const e of readdirSync(abs)) if (!SKIP_DIRS.has(e)) walk(join(abs, e));
    } else if (st.isFile() && st.size < 2_000_000 && TEXT_EXT.test(abs)) out.push(abs);
  };
  for (const p of paths) {
    const abs = join(root, p);
    if (existsSync(abs)) walk(abs);
  }
  return out.sort();
}

/** The folders and files CI scans. */
export const SCAN_PATHS: readonly string[] = ['flows', 'examples', 'nodes', 'settings.ts', 'scripts', 'bin', 'deploy', 'docs', 'README.md', 'package.json'];

/** Scan `paths` under `root`; files holding a NUL byte (binary) are skipped. */
export function scanTree(root: string, paths: readonly string[] = SCAN_PATHS): { files: number; findings: SecretFinding[] } {
  const files = filesToScan(root, paths);
  const findings: SecretFinding[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (text.includes('\u0000')) continue;
    findings.push(...scanText(text, relative(root, f).split(sep).join('/')));
  }
  return { files: files.length, findings };
}
