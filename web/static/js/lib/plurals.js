// A sentence with a count, in the plural form the page's language uses for it. The page gets
// the sentence in each of its language's plural categories (English two, Arabic six: zero,
// one, two, few, many, other) and the count is written as the language writes numbers.
// DOM-free.

export function countSentence(choices, n, locale) {
  const category = new Intl.PluralRules(locale || undefined).select(n);
  const text = choices[category] || choices.other || Object.values(choices)[0] || "";
  const number = new Intl.NumberFormat(locale || undefined, { numberingSystem: "latn" }).format(n);
  return text.replace("%(num)s", number);
}
