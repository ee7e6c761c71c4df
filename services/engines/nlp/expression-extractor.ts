/**
 * Slot extractors of arithmetic (calc.evaluate in policy/nlp-phrases.json), output `expression`:
 *   expression          after a command ("calculate 12 * 7"): the rest, or nothing when the rest
 *                       is not an expression ("calculate the tip" leaves it to clarify)
 *   strict_expression   after a question head or from the first word: matches only when the rest
 *                       is an expression with an operator ("what is 12 * 7", "2+2=")
 * An expression uses digits, ".", "+ - * / ^ %", parentheses and the words "plus", "minus",
 * "times", "x", "multiplied by", "divided by", "over", "mod"; words and "×", "÷", "−" become
 * symbols, tokens are joined by single spaces and a trailing "=" is dropped. Only its shape is
 * checked here (balanced parentheses, starts and ends with an operand); the calc engine evaluates it.
 */
import { matchPhrase, type Token } from "./tokenize-utterance.js";

const WORD_OPERATORS = [
  [["multiplied", "by"], "*"],
  [["divided", "by"], "/"],
  [["plus"], "+"],
  [["minus"], "-"],
  [["times"], "*"],
  [["x"], "*"],
  [["over"], "/"],
  [["mod"], "%"],
] as const;
const ALLOWED = new Set("0123456789.+-*/^%()");
const OPERATORS = new Set("+-*/^%");
const FIRST = new Set("0123456789.(+-");
const LAST = new Set("0123456789.)");

/** The rest as an expression, or no output when it is not one; always matches. */
export function extractExpression(tokens: readonly Token[], start: number): Record<string, string> {
  const expression = toExpression(tokens.slice(start));
  return expression === undefined ? {} : { expression };
}

/** The rest as an expression with an operator, else no match. */
export function extractStrictExpression(tokens: readonly Token[], start: number): Record<string, string> | undefined {
  const expression = toExpression(tokens.slice(start));
  if (expression === undefined || ![...expression].some((char) => OPERATORS.has(char))) return undefined;
  return { expression };
}

function toExpression(tokens: readonly Token[]): string | undefined {
  const pieces: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    const word = WORD_OPERATORS.find(([phrase]) => matchPhrase(tokens, i, [phrase]) > 0);
    if (word !== undefined) {
      pieces.push(word[1]);
      i += word[0].length;
      continue;
    }
    // NFKC: full-width digits and operators ("１２ ＊ ７") read as their ASCII forms.
    const text = tokens[i]!.text.normalize("NFKC").replaceAll("×", "*").replaceAll("÷", "/").replaceAll("−", "-");
    pieces.push(i === tokens.length - 1 && text.endsWith("=") ? text.slice(0, -1) : text);
    i++;
  }
  const expression = pieces.filter((piece) => piece !== "").join(" ");
  return isExpressionShaped(expression) ? expression : undefined;
}

function isExpressionShaped(expression: string): boolean {
  if (expression === "" || !FIRST.has(expression[0]!) || !LAST.has(expression[expression.length - 1]!)) return false;
  let depth = 0;
  let digits = false;
  for (const char of expression) {
    if (char === " ") continue;
    if (!ALLOWED.has(char)) return false;
    if (char === "(") depth++;
    if (char === ")" && --depth < 0) return false;
    if (char >= "0" && char <= "9") digits = true;
  }
  return depth === 0 && digits;
}
