// Numbers as the page's language writes them ("36.6" in English, "36,6" in French and Spanish),
// keeping the decimals the value came with, digits 0-9 in every language (as on the device
// and in lib/time.js). DOM-free.

export function formatNumber(value, locale) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "–";
  const text = String(value);
  const decimals = text.includes(".") ? text.split(".")[1].length : 0;
  return new Intl.NumberFormat(locale || undefined, {
    minimumFractionDigits: decimals, maximumFractionDigits: decimals, useGrouping: false,
    numberingSystem: "latn",
  }).format(Number(value));
}
