import type { Category, Scope, Urgency } from "./bindings";

export const CATEGORIES: readonly Category[] = [
  "display",
  "sound",
  "printer",
  "wifi",
  "sign-in",
  "app",
  "computer",
  "other",
];
export const URGENCIES: readonly Urgency[] = ["now", "soon", "whenever"];
export const SCOPES: readonly Scope[] = ["me", "room", "building", "district"];
export const DEFAULT_URGENCY: Urgency = "whenever";
export const DEFAULT_SCOPE: Scope = "me";
