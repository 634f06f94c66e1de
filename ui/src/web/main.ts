// The web report page's entry (report.html, served by the district server at /report/): the
// tray app's views over the HTTP transport, or the sign-in page when nobody is signed in.
import { mount } from "svelte";
import App from "../App.svelte";
import SignIn from "./SignIn.svelte";
import { setTransport } from "../lib/api";
import { HttpTransport, type Me } from "../lib/web/http";
import "../app.css";

const target = document.getElementById("app");
if (!target) throw new Error("#app missing");

/** Who is signed in: `null` when nobody is, `undefined` when the server cannot be reached. */
async function whoAmI(): Promise<Me | null | undefined> {
  try {
    const res = await fetch("api/me", { credentials: "same-origin" });
    if (res.status === 401) return null;
    if (!res.ok) return undefined;
    const me = (await res.json()) as Me;
    localStorage.setItem("handraise.me", JSON.stringify(me));
    return me;
  } catch {
    return undefined;
  }
}

// The service worker keeps the page itself for offline use (a secure context only: HTTPS or
// localhost) and asks the page to send its outbox when the connection returns.
if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("sw.js", { scope: "./" }).catch(() => {});
}

async function start() {
const me = await whoAmI();
let known: Me | null = null;
if (me === undefined) {
  // Offline: the last account this browser knew, so reports can be made and kept.
  try {
    known = JSON.parse(localStorage.getItem("handraise.me") ?? "null") as Me | null;
  } catch {
    known = null;
  }
}
const account = me ?? known;
// Always the HTTP transport: the language choice is kept in this browser even signed out.
const transport = new HttpTransport(account);
setTransport(transport);
if (account) {
  transport.start();
  if (!location.hash) location.hash = "#/report";
  mount(App, { target: target! });
} else {
  mount(SignIn, { target: target!, props: { offline: me === undefined } });
}
}

void start();
