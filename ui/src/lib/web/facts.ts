// Browser facts instead of device facts, for the same facts panel: browser and version, OS
// and version, device model where User-Agent Client Hints give it, screen size, online
// state and time zone. Each is a key and parts worded by the catalogues, as the agent's.
import type { FactItem } from "../bindings";

interface Brand {
  brand: string;
  version: string;
}
interface UAData {
  brands: Brand[];
  platform: string;
  mobile: boolean;
  getHighEntropyValues(hints: string[]): Promise<Record<string, unknown>>;
}

export interface BrowserFacts {
  browser: string | null;
  os: string | null;
  model: string | null;
  screen: { width: number; height: number } | null;
  online: boolean;
  timeZone: string | null;
}

/** The browser's name and version from the User-Agent string (fallback without hints). */
function fromUserAgent(ua: string): { browser: string | null; os: string | null } {
  const m = (re: RegExp) => ua.match(re);
  let browser: string | null = null;
  const edge = m(/Edg\/([\d.]+)/);
  const chrome = m(/Chrome\/([\d.]+)/);
  const firefox = m(/Firefox\/([\d.]+)/);
  const safari = m(/Version\/([\d.]+).*Safari/);
  if (edge) browser = `Edge ${edge[1]}`;
  else if (chrome) browser = `Chrome ${chrome[1]}`;
  else if (firefox) browser = `Firefox ${firefox[1]}`;
  else if (safari) browser = `Safari ${safari[1]}`;
  let os: string | null = null;
  const android = m(/Android ([\d.]+)/);
  const ios = m(/OS ([\d_]+) like Mac OS X/);
  const mac = m(/Mac OS X ([\d_]+)/);
  const win = m(/Windows NT ([\d.]+)/);
  if (android) os = `Android ${android[1]}`;
  else if (ios) os = `iOS ${ios[1].replace(/_/g, ".")}`;
  else if (/CrOS/.test(ua)) os = "ChromeOS";
  else if (mac) os = `macOS ${mac[1].replace(/_/g, ".")}`;
  else if (win) os = `Windows NT ${win[1]}`;
  else if (/Linux/.test(ua)) os = "Linux";
  return { browser, os };
}

/** Reads the facts (Client Hints when the browser has them, else the User-Agent string). */
export async function readBrowserFacts(): Promise<BrowserFacts> {
  const fallback = fromUserAgent(navigator.userAgent);
  let { browser, os } = fallback;
  let model: string | null = null;
  const ua = (navigator as Navigator & { userAgentData?: UAData }).userAgentData;
  if (ua) {
    try {
      const hi = await ua.getHighEntropyValues(["platformVersion", "model", "fullVersionList"]);
      const list = (hi.fullVersionList as Brand[] | undefined) ?? ua.brands;
      const real = list.find((b) => !/Not.?A.?Brand|Chromium/i.test(b.brand)) ?? list.find((b) => /Chromium/i.test(b.brand));
      if (real) browser = `${real.brand} ${real.version}`;
      const pv = typeof hi.platformVersion === "string" && hi.platformVersion ? ` ${hi.platformVersion}` : "";
      if (ua.platform) os = `${ua.platform}${pv}`;
      model = typeof hi.model === "string" && hi.model.trim() ? hi.model.trim() : null;
    } catch {
      /* keep the User-Agent's answer */
    }
  }
  let timeZone: string | null = null;
  try {
    timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch {
    timeZone = null;
  }
  const screen = window.screen ? { width: window.screen.width, height: window.screen.height } : null;
  return { browser, os, model, screen, online: navigator.onLine, timeZone };
}

/** The facts as the panel shows them (a key and parts, worded by the catalogues). */
export function factItems(f: BrowserFacts): FactItem[] {
  const items: { key: string; parts: FactItem["parts"] }[] = [];
  const value = (key: string, v: string | null) => {
    if (v) items.push({ key, parts: [{ phrase: "fact.value", args: { value: v } }] });
  };
  value("browser", f.browser);
  value("os", f.os);
  value("model", f.model);
  if (f.screen) items.push({ key: "screen", parts: [{ phrase: "fact.screen.size" as FactItem["parts"][0]["phrase"], args: { width: String(f.screen.width), height: String(f.screen.height) } }] });
  items.push({ key: "online", parts: [{ phrase: (f.online ? "fact.online.yes" : "fact.online.no") as FactItem["parts"][0]["phrase"], args: {} }] });
  value("time", f.timeZone);
  return items as FactItem[];
}

/** The facts the teacher left ticked, as the server's `DeviceSnapshot`. */
export function snapshot(f: BrowserFacts, omit: string[]): Record<string, unknown> {
  const keep = (k: string) => !omit.includes(k);
  const s: Record<string, unknown> = { schema_version: 1, collected_at: new Date().toISOString() };
  if (keep("browser") && f.browser) s.app_version = `Web browser: ${f.browser}`;
  if (keep("os") && f.os) {
    const [name, ...rest] = f.os.split(" ");
    s.os_name = name;
    if (rest.length) s.os_version = rest.join(" ");
  }
  if (keep("model") && f.model) s.model = f.model;
  if (keep("screen") && f.screen) s.displays = [{ width: f.screen.width, height: f.screen.height }];
  if (keep("time") && f.timeZone) s.time_zone = f.timeZone;
  return s;
}
