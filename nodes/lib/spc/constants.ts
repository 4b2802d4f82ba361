/**
 * Control-chart constants for subgroups of n = 2…25 (normal process, σ known only through the subgroups).
 *
 * d2(n) = E[R]/σ and d3(n) = sd[R]/σ are the mean and standard deviation of the range of n standard normal
 * values (tabulated to 4 decimals; test/unit/spc-constants.test.js integrates them again); c4(n) = E[s]/σ is
 * exact (Γ function). The chart factors follow from them:
 *   A2 = 3/(d2·√n)   D3 = max(0, 1 − 3·d3/d2)   D4 = 1 + 3·d3/d2              (X̄-R chart)
 *   A3 = 3/(c4·√n)   B3 = max(0, 1 − 3·√(1−c4²)/c4)   B4 = 1 + 3·√(1−c4²)/c4   (X̄-S chart)
 */

export const MIN_SUBGROUP = 2;
export const MAX_SUBGROUP = 25;

// index n − 2
const D2 = [
  1.1284, 1.6926, 2.0588, 2.3259, 2.5344, 2.7044, 2.8472, 2.97, 3.0775, 3.1729, 3.2585, 3.336, 3.4068, 3.4718, 3.532, 3.5879, 3.6401, 3.689,
  3.735, 3.7783, 3.8194, 3.8583, 3.8953, 3.9306,
];
const D3_SD = [
  0.8525, 0.8884, 0.8798, 0.8641, 0.848, 0.8332, 0.8198, 0.8078, 0.7971, 0.7873, 0.7785, 0.7704, 0.763, 0.7562, 0.7499, 0.7441, 0.7386, 0.7335,
  0.7287, 0.7242, 0.7199, 0.7159, 0.7121, 0.7084,
];

export interface ChartConstants {
  n: number;
  d2: number;
  d3: number;
  c4: number;
  A2: number;
  D3: number;
  D4: number;
  A3: number;
  B3: number;
  B4: number;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: ~15 significant digits) */
function lnGamma(x: number): number {
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = g[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += g[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** c4(n) = √(2/(n−1)) · Γ(n/2) / Γ((n−1)/2) */
export function c4(n: number): number {
  return Math.sqrt(2 / (n - 1)) * Math.exp(lnGamma(n / 2) - lnGamma((n - 1) / 2));
}

const TABLE: ChartConstants[] = [];
for (let n = MIN_SUBGROUP; n <= MAX_SUBGROUP; n++) {
  const d2 = D2[n - 2];
  const d3 = D3_SD[n - 2];
  const c = c4(n);
  const sdS = Math.sqrt(1 - c * c) / c;
  TABLE.push(
    Object.freeze({
      n,
      d2,
      d3,
      c4: c,
      A2: 3 / (d2 * Math.sqrt(n)),
      D3: Math.max(0, 1 - (3 * d3) / d2),
      D4: 1 + (3 * d3) / d2,
      A3: 3 / (c * Math.sqrt(n)),
      B3: Math.max(0, 1 - 3 * sdS),
      B4: 1 + 3 * sdS,
    }),
  );
}

/** The constants for subgroup size n (an integer in 2…25), else a RangeError. */
export function constants(n: number): ChartConstants {
  if (!Number.isInteger(n) || n < MIN_SUBGROUP || n > MAX_SUBGROUP) throw new RangeError(`subgroup size must be an integer in ${MIN_SUBGROUP}…${MAX_SUBGROUP}, got ${String(n)}`);
  return TABLE[n - MIN_SUBGROUP];
}
