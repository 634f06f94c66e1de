// Scenario data for the mocked Tauri backend.
// A 1x1 PNG, enough for a preview <img>.
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

export function status(overrides = {}) {
  return {
    enrolled: true,
    server_url: "https://helpdesk.example.org",
    online: true,
    offline_since: null,
    queued_count: 0,
    unread_count: 0,
    paused_reason: null,
    teacher_name: "Ms. Rivera",
    room: "B-12",
    school: "Lincoln Elementary",
    building: "Main",
    announcements: [],
    me_too: [],
    locale: null,
    reporter_account: "mrivera",
    reporter_email: "mrivera@lincoln.example.org",
    email_from_policy: false,
    ...overrides,
  };
}

export const articles = [
  {
    slug: "printer-jam",
    title: "Clear a paper jam",
    snippet: "Most jams clear in under a minute.",
    categories: ["printer"],
    keywords: ["printer", "paper", "jam", "stuck"],
    body:
      "## Before you start\nTurn the printer **off**.\n\n1. Open the front door.\n2. Pull the *stuck* paper out gently.\n3. Close the door and turn the printer on.\n\n<script>window.__pwned = true</script>",

    // What the agent's renderer (crates/handraise-markdown) makes of the body: the raw
    // <script> is shown as text.
    html:
      "<h4>Before you start</h4><p>Turn the printer <strong>off</strong>.</p><ol><li>Open the front door.</li><li>Pull the <em>stuck</em> paper out gently.</li><li>Close the door and turn the printer on.</li></ol><p>&lt;script&gt;window.__pwned = true&lt;/script&gt;</p>",
  },
  {
    slug: "printer-offline",
    title: "Printer says offline",
    snippet: "Check the cable and the printer's screen.",
    categories: ["printer"],
    keywords: ["printer", "offline"],
    body: "1. Check the cable.\n2. Restart the printer.",
    html: "<ol><li>Check the cable.</li><li>Restart the printer.</li></ol>",
  },
  {
    slug: "wifi-reconnect",
    title: "Reconnect to the school Wi-Fi",
    snippet: "Turn Wi-Fi off and on again.",
    categories: ["wifi"],
    keywords: ["wifi", "internet", "connect", "network"],
    body: "1. Click the Wi-Fi icon.\n2. Turn Wi-Fi **off**, wait 5 seconds, then turn it on.\n3. Pick *District-Staff*.",
    html: "<ol><li>Click the Wi-Fi icon.</li><li>Turn Wi-Fi <strong>off</strong>, wait 5 seconds, then turn it on.</li><li>Pick <em>District-Staff</em>.</li></ol>",
  },
];

// Facts as the agent sends them: a key and phrases of the catalogues with their values.
const value = (v) => ({ phrase: "fact.value", args: { value: v } });
export const facts = [
  { key: "computer", parts: [value("LAB-12")] },
  { key: "os", parts: [value("Windows 11 (23H2)")] },
  { key: "memory", parts: [{ phrase: "fact.memory.used", args: { used: 3.1, total: 8 } }] },
  { key: "disks", parts: [{ phrase: "fact.disks.free", args: { mount: "/home", free: 12, total: 128 } }] },
  {
    key: "network",
    parts: [value("Wi-Fi 192.168.1.23"), { phrase: "fact.network.gateway", args: { address: "192.168.1.1" } }],
  },
  { key: "battery", parts: [{ phrase: "fact.battery.charge", args: { charge: 54 } }] },
];

export const screenshot = { png_base64: PNG, width: 320, height: 200 };

const iso = (minutesAgo) => new Date(Date.now() - minutesAgo * 60000).toISOString();

/** A LocalTicket with every field; the mock's submit_report starts from it too. */
function ticket(id, minutesAgo, p) {
  return {
    client_id: id,
    state: "sent",
    number: null,
    status: "new",
    category: "other",
    summary: "",
    details: null,
    created_at: iso(minutesAgo),
    assignee: null,
    unread: false,
    reject_reason: null,
    messages: [],
    fixed: null,
    rating: null,
    ...p,
  };
}

export function tickets() {
  return [
    ticket("t-new", 300, { number: 1201, summary: "Projector flickers", category: "display" }),
    ticket("t-queued", 5, { state: "queued", status: null, summary: "Printer jammed again", category: "printer" }),
    ticket("t-rejected", 60, { state: "rejected", status: null, summary: "Huge screenshot", reject_reason: "The screenshot was too large" }),
    ticket("t-assigned", 400, { number: 1190, status: "assigned", assignee: "Sam Ortiz", summary: "Speakers crackle", category: "sound" }),
    ticket("t-progress", 500, { number: 1180, status: "in_progress", summary: "Laptop is slow", category: "computer" }),
    ticket("t-waiting", 120, {
      number: 1199,
      status: "waiting_on_teacher",
      summary: "Can't sign in to the grade book",
      category: "sign-in",
      unread: true,
      details: "It says my password expired.",
      messages: [
        { id: "m1", author: "teacher", author_name: "Ms. Rivera", body: "It says my password expired.", at: iso(118), state: "sent" },
        { id: "m2", author: "technician", author_name: "Sam Ortiz", body: "Can you try the reset link and tell me what you see?", at: iso(100), state: "received" },
      ],
    }),
    ticket("t-resolved", 2000, {
      number: 1100,
      status: "resolved",
      summary: "Wi-Fi drops in room B-12",
      category: "wifi",
      messages: [
        { id: "m3", author: "technician", author_name: "Alex Kim", body: "We replaced the access point.", at: iso(1500), state: "received" },
      ],
    }),
    ticket("t-closed", 5000, { number: 1001, status: "closed", summary: "Document camera missing", category: "display" }),
  ];
}

/** A ConnectionReport: on the network, DNS and the district server fine, no internet. */
export function connection(overrides = {}) {
  return {
    checks: [
      { key: "dns", ok: true, ms: 12, target: "10.0.0.53", detail: null },
      { key: "gateway", ok: true, ms: 2.4, target: "192.168.1.1", detail: null },
      { key: "server", ok: true, ms: 1234, target: "helpdesk.example.org", detail: null },
      { key: "internet", ok: false, ms: null, target: "connectivity.example.net", detail: "timed out after 3 s" },
    ],
    verdict: "no_internet",
    suggest_category: "wifi",
    ...overrides,
  };
}

export function scenario(overrides = {}) {
  return {
    status: status(),
    articles,
    facts,
    screenshot,
    tickets: [],
    // What submit_report saves: the form's fields on this ticket.
    newTicket: ticket("0190c0de-0000-7000-8000-00000000abcd", 0, { state: "queued", status: null }),
    submitOutcome: "sent",
    emitEvents: true,
    sendDelayMs: 400,
    connection: connection(),
    connectionDelayMs: 300,
    locale: null,
    ...overrides,
  };
}
