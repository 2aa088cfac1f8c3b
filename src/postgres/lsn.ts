/**
 * WAL positions (LSNs): PostgreSQL writes them as text ("16/B374D848"), Debezium stores them in its
 * offsets as numbers (bytes). Numbers stay exact up to 2^53 bytes of WAL (8 PiB).
 */

/** "0/16B3748" -> bytes. */
export function lsnToNumber(lsn: string): number {
  const [hi, lo] = lsn.split("/");
  return parseInt(hi!, 16) * 2 ** 32 + parseInt(lo!, 16);
}

/** Bytes -> "0/16B3748", as PostgreSQL writes it. */
export function formatLsn(n: number): string {
  const hi = Math.floor(n / 2 ** 32);
  const lo = n - hi * 2 ** 32;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}
