/** Kubernetes label selectors (metav1.LabelSelector) and how they match a set of labels. */

/** Labels of an object: key to value. */
export type Labels = Readonly<Record<string, string>>;

/** One requirement of a selector's matchExpressions. */
export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

/** A label selector; `{}` selects everything. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** Whether `labels` satisfy every matchLabels pair and every matchExpressions requirement of `selector`. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((requirement) => requirementMatches(requirement, labels));
}

function requirementMatches(requirement: LabelSelectorRequirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, requirement.key);
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case "In":
      return has && values.includes(labels[requirement.key]!);
    // As in Kubernetes, NotIn also matches objects that do not carry the key at all.
    case "NotIn":
      return !has || !values.includes(labels[requirement.key]!);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    default:
      throw new Error(`unsupported label selector operator ${JSON.stringify(requirement.operator)}`);
  }
}
