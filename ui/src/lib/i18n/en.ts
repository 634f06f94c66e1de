// English message catalogue. Every string the UI shows lives here, keyed, so other
// languages (Spanish first) can be added as sibling modules with the same keys.

export const en = {
  "app.name": "HandRaise",
  "app.loading": "Loading…",

  // Page titles (document.title)
  "title.report": "Report a problem — HandRaise",
  "title.tickets": "My tickets — HandRaise",
  "title.ticket": "Ticket — HandRaise",
  "title.setup": "Set up HandRaise",

  // Header
  "nav.label": "HandRaise",
  "nav.report": "Report a problem",
  "nav.tickets": "My tickets",
  "nav.unread": "{count} new",
  "nav.unreadLabel.one": "1 ticket with a new reply",
  "nav.unreadLabel.other": "{count} tickets with new replies",
  "status.region": "Connection status",
  "status.paused": "This computer needs to be reconnected to the help desk",
  "status.pausedHelp": "Your reports are kept on this computer. Ask your IT team to reconnect it.",
  "status.notEnrolled": "This computer is not connected to a help desk yet.",
  "status.setupLink": "Set it up",
  "status.offlineSince": "Offline since {time}",
  "status.offline": "Offline",
  "status.online": "Connected to the help desk",
  "status.waiting.one": "1 report waiting to send",
  "status.waiting.other": "{count} reports waiting to send",
  "status.savedNote": "Reports are saved on this computer and sent automatically.",
  "status.retry": "Try sending now",
  "status.retrying": "Trying…",

  // Announcements
  "announce.region": "Help desk announcements",
  "announce.outage": "Known problem",
  "announce.notice": "Notice",

  // Report form
  "report.heading": "Report a problem",
  "report.category.legend": "What's wrong?",
  "category.display": "Display, projector or board",
  "category.sound": "Sound or microphone",
  "category.printer": "Printer",
  "category.wifi": "Wi-Fi or internet",
  "category.sign-in": "Signing in or password",
  "category.app": "An app or website",
  "category.computer": "This computer (slow, won't start, broken)",
  "category.other": "Something else",
  "report.summary.label": "What's wrong, in a few words?",
  "report.summary.hint": "For example: “Projector shows no picture”",
  "report.details.label": "More details (optional)",
  "report.urgency.legend": "Is this stopping your class right now?",
  "urgency.now": "Yes, right now",
  "urgency.soon": "Soon",
  "urgency.whenever": "When you can",
  "report.scope.legend": "Who is affected?",
  "scope.me": "Just me",
  "scope.room": "My room",
  "scope.building": "My building",
  "scope.district": "Everyone",
  "report.room.label": "Room",
  "report.submit": "Send to the help desk",
  "report.saving": "Saving…",
  "report.errorsSummary": "Please fix the highlighted items.",
  "report.saved": "Saved on this computer — it will be sent automatically",
  "report.sent": "Sent — ticket #{number}",
  "report.rejected": "The help desk could not accept this report: {reason}",
  "report.rejectedNoReason": "The help desk could not accept this report.",
  "report.viewTickets": "See My tickets",
  "report.newReport": "Report another problem",
  "report.close": "Close",
  "report.saveFailed": "This report could not be saved on this computer. Please try again.",
  "report.saveFailedInvalid": "Something in the report was not accepted. Check the form and try again.",

  // Validation
  "error.category.required": "Choose what kind of problem it is.",
  "error.summary.required": "Write a few words about what's wrong.",
  "error.summary.tooLong": "Please keep this under {max} characters (now {count}). Put the rest in More details.",
  "error.details.tooLong": "Please keep the details under {max} characters.",
  "error.room.tooLong": "Please keep the room under {max} characters.",
  "error.prefix": "Error:",
  "report.counter": "{count} of {max} characters",

  // Self-help
  "help.heading": "This might fix it",
  "help.intro": "Pick what's wrong and these tips will update as you type.",
  "help.none": "No tips for this yet. Send it to the help desk below.",
  "help.searching": "Looking for tips…",
  "help.found.one": "1 tip might help",
  "help.found.other": "{count} tips might help",
  "help.open": "Show steps",
  "help.loading": "Opening…",
  "help.loadFailed": "This tip could not be opened.",
  "help.fixed": "This fixed it",
  "help.stillBroken": "Still broken",
  "help.back": "Back to the tips",
  "help.triedNote": "You tried: {title}",
  "help.thanks.heading": "Great — glad it's working!",
  "help.thanks.body": "Nothing was sent to the help desk. This window will close in a few seconds.",
  "help.thanks.close": "Close now",
  "help.thanks.report": "Report a problem anyway",

  // Facts
  "facts.heading": "What we'll attach",
  "facts.intro": "These details help the technician. Untick anything you don't want to send.",
  "facts.loading": "Reading this computer's details…",
  "facts.none": "No details available.",
  "facts.item": "{label}: {value}",
  "facts.screenshot": "Include a screenshot",
  "facts.screenshotHelp": "Only sent if you tick this box.",
  "facts.screenshotAlt": "Preview of your screen",

  // Tickets
  "tickets.heading": "My tickets",
  "tickets.empty": "You haven't reported any problems from this computer.",
  "tickets.loading": "Loading your tickets…",
  "tickets.loadFailed": "Your tickets could not be loaded.",
  "tickets.retry": "Try again",
  "tickets.unread": "New reply",
  "tickets.created": "Reported {time}",
  "tickets.back": "Back to My tickets",
  "tickets.notFound": "We couldn't find this ticket.",

  "ticketState.queued": "Waiting on this computer — will send automatically",
  "ticketState.rejected": "Not accepted: {reason}",
  "ticketState.rejectedNoReason": "Not accepted",
  "ticketState.new": "Received — #{number}",
  "ticketState.newNoNumber": "Received",
  "ticketState.assigned": "Assigned to {name}",
  "ticketState.assignedNoName": "Assigned to a technician",
  "ticketState.in_progress": "In progress",
  "ticketState.waiting_on_teacher": "Waiting on you",
  "ticketState.resolved": "Resolved",
  "ticketState.closed": "Closed",
  "ticketState.label": "Status",
  "ticket.number": "Ticket #{number}",
  "ticket.details": "Details",
  "ticket.conversation": "Conversation",
  "ticket.noMessages": "No messages yet.",
  "ticket.you": "You",
  "ticket.technician": "Technician",
  "ticket.messageQueued": "Waiting to send",
  "ticket.messageRejected": "Not accepted",
  "ticket.reply.label": "Reply to the technician",
  "ticket.reply.send": "Send reply",
  "ticket.reply.sending": "Sending…",
  "ticket.reply.required": "Write a message first.",
  "ticket.reply.failed": "Your reply could not be saved. Please try again.",
  "ticket.fixed.legend": "Is it working now?",
  "ticket.fixed.yes": "It's fixed",
  "ticket.fixed.no": "Still broken",
  "ticket.fixed.thanksYes": "Thanks for confirming.",
  "ticket.fixed.thanksNo": "Thanks — the help desk will take another look.",
  "ticket.rate.legend": "How did we do?",
  "ticket.rate.star.one": "1 star out of 5",
  "ticket.rate.star.other": "{count} stars out of 5",
  "ticket.rate.thanks": "Thanks for rating!",
  "ticket.actionFailed": "That didn't work. Please try again.",

  // Setup
  "setup.heading": "Connect this computer to the help desk",
  "setup.intro": "You only need to do this once. Your IT team can give you the server address and enrollment code.",
  "setup.server.label": "Help desk server address",
  "setup.server.hint": "For example: https://helpdesk.district.org",
  "setup.code.label": "Enrollment code",
  "setup.name.label": "Your name",
  "setup.room.label": "Your room",
  "setup.submit": "Connect",
  "setup.connecting": "Connecting…",
  "setup.done": "This computer is now connected to the help desk.",
  "setup.goReport": "Report a problem",
  "setup.error.serverRequired": "Enter the server address.",
  "setup.error.serverInvalid": "This doesn't look like a web address. It should start with https://",
  "setup.error.codeRequired": "Enter the enrollment code.",
  "setup.error.nameRequired": "Enter your name.",
  "setup.code.invalid": "The server address or enrollment code isn't right. Check them and try again.",
  "setup.code.network": "We couldn't reach the help desk server. Check the address and that this computer is online.",
  "setup.code.not_enrolled": "The help desk did not accept this enrollment code. Ask your IT team for a new one.",
  "setup.code.not_found": "No help desk was found at this address. Check the server address.",
  "setup.code.storage": "This computer couldn't save the settings. Please try again or ask your IT team.",
  "setup.code.unknown": "Something went wrong while connecting. Please try again or ask your IT team.",

  "view.notFound": "This page doesn't exist.",
  "time.unknown": "unknown time",
} as const;

export type MessageKey = keyof typeof en;
export type Params = Record<string, string | number>;

/** Look up a message and fill `{name}` placeholders. Unknown placeholders are left as-is. */
export function t(key: MessageKey, params?: Params): string {
  const template: string = en[key] ?? key;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : m,
  );
}

/** Plural helper: uses `<base>.one` when count is 1, else `<base>.other`. */
export function tn(base: string, count: number, params?: Params): string {
  const key = (count === 1 ? `${base}.one` : `${base}.other`) as MessageKey;
  return t(key, { count, ...params });
}

/** True when the catalogue has this key (used for keys built from wire values). */
export function has(key: string): key is MessageKey {
  return Object.prototype.hasOwnProperty.call(en, key);
}
