import { describe, expect, it } from "vitest";
import type { AppStatus, LocalTicket, TicketStatus } from "../../src/lib/bindings";
import { headerStatus, ticketStateText } from "../../src/lib/status";

function tk(p: Partial<LocalTicket>): LocalTicket {
  return {
    client_id: "c1", state: "sent", number: 1234, status: "new", category: "printer", summary: "s",
    details: null, created_at: "2026-01-01T10:00:00Z", assignee: null, unread: false,
    reject_reason: null, messages: [], fixed: null, rating: null, ...p,
  };
}

describe("ticketStateText", () => {
  it("queued", () => {
    expect(ticketStateText(tk({ state: "queued", number: null, status: null }))).toBe(
      "Waiting on this computer — will send automatically",
    );
  });
  it("rejected with and without a reason", () => {
    expect(ticketStateText(tk({ state: "rejected", reject_reason: "Too large", status: null }))).toBe("Not accepted: Too large");
    expect(ticketStateText(tk({ state: "rejected", status: null }))).toBe("Not accepted");
  });
  const cases: [TicketStatus, Partial<LocalTicket>, string][] = [
    ["new", {}, "Received — #1234"],
    ["assigned", { assignee: "Sam Ortiz" }, "Assigned to Sam Ortiz"],
    ["in_progress", {}, "In progress"],
    ["waiting_on_teacher", {}, "Waiting on you"],
    ["resolved", {}, "Resolved"],
    ["closed", {}, "Closed"],
  ];
  for (const [status, extra, want] of cases) {
    it(`sent + ${status}`, () => expect(ticketStateText(tk({ status, ...extra }))).toBe(want));
  }
  it("sent without status yet counts as received", () => {
    expect(ticketStateText(tk({ status: null, number: 7 }))).toBe("Received — #7");
  });
  it("assigned without a name", () => {
    expect(ticketStateText(tk({ status: "assigned" }))).toBe("Assigned to a technician");
  });
});

function st(p: Partial<AppStatus>): AppStatus {
  return {
    enrolled: true, server_url: "https://hd", online: true, offline_since: null, queued_count: 0,
    unread_count: 0, paused_reason: null, teacher_name: null, room: null, school: null, building: null,
    announcements: [], me_too: [], locale: null, reporter_account: null, reporter_email: null,
    email_from_policy: false, ...p,
  };
}

describe("headerStatus", () => {
  it("online", () => expect(headerStatus(st({})).lines).toEqual(["Connected to the help desk"]));
  it("offline since a time, with waiting reports", () => {
    const h = headerStatus(st({ online: false, offline_since: "2026-01-01T10:42:00Z", queued_count: 3 }));
    expect(h.tone).toBe("offline");
    expect(h.lines[0]).toMatch(/^Offline since /);
    expect(h.lines[1]).toBe("3 reports waiting to send");
    expect(h.canRetry).toBe(true);
  });
  it("singular waiting", () => {
    expect(headerStatus(st({ online: false, queued_count: 1 })).lines).toEqual(["Offline", "1 report waiting to send"]);
  });
  it("paused wins over everything", () => {
    const h = headerStatus(st({ paused_reason: "device revoked", online: false, queued_count: 2 }));
    expect(h.tone).toBe("paused");
    expect(h.lines[0]).toBe("This computer needs to be reconnected to the help desk");
  });
  it("not enrolled", () => expect(headerStatus(st({ enrolled: false })).tone).toBe("setup"));
});
