/**
 * Matcher of calc.evaluate. Accepted shapes:
 *   ("calculate" | "compute" | "evaluate" | "calc" | "solve") [expression]   partial allowed
 *   ("what is" | "what's" | "whats" | "how much is") expression               only with an operator
 *   expression                                                                only with an operator
 * An expression uses digits, ".", "+ - * / ^ %", parentheses and the words "plus", "minus",
 * "times", "x", "multiplied by", "divided by", "over", "mod"; words and "×", "÷", "−" become
 * symbols, tokens are joined by single spaces and a trailing "=" is dropped. Only its shape is
 * checked here (balanced parentheses, starts and ends with an operand); the calc engine evaluates it.
 */
import { matchPhrase, type Token } from "./tokenize-utterance.js";

const COMMAND_HEADS = [["calculate"], ["compute"], ["evaluate"], ["calc"], ["solve"]] as const;
const QUESTION_HEADS = [["how", "much", "is"], ["what", "is"], ["what's"], ["whats"]] as const;
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

/** Matches calc.evaluate; field `expression`. */
export function matchCalc(tokens: readonly Token[]): Record<string, string> | undefined {
  const command = matchPhrase(tokens, 0, COMMAND_HEADS);
  if (command > 0) {
    const expression = toExpression(tokens.slice(command));
    return expression === undefined ? {} : { expression };
  }
  const question = matchPhrase(tokens, 0, QUESTION_HEADS);
  const expression = toExpression(tokens.slice(question));
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
