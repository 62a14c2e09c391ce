// matrix-js-sdk, driven over JSON lines for revier's integration tests.
//
// One request per line on stdin:   {"id": 1, "cmd": "login", "params": {...}}
// One response per line on stdout: {"id": 1, "ok": true, "result": ...}
//                               or {"id": 1, "ok": false, "error": "..."}
// Requests run concurrently (a test may wait for an event while it sends
// another command); responses come back in completion order, matched by id.
//
// stdout carries protocol lines only. Everything else — the SDK's logging,
// console output, our own diagnostics — goes to stderr.
//
// Commands (params → result; see `commands` below for the details):
//   login {baseUrl, userId, password, deviceName?} → {userId, deviceId, accessToken}
//   useSession {baseUrl, userId, deviceId, accessToken}   whoami {} → {userId, deviceId, isGuest}
//   initCrypto {}   startClient {initialSyncLimit?, crypto?, slidingSync?}   waitForSync {timeoutMs?} → {state}
//   slidingSync: {lists?, subscription?, timeoutMs?} runs the client on simplified
//     sliding sync (MSC4186) instead of /sync; then:
//   setListRanges {list, ranges}   listCount {list} → {count}   waitForListCount {list, count}
//   slidingSyncStatus {} → {requests, errors}
//   roomInfo {roomId} → {name, membership, notificationCount, ...} | null
//   waitForRoom {roomId, expect: {field: value}} → roomInfo
//   createRoom {options, timeoutMs?} → {roomId, encrypted}   joinRoom {roomIdOrAlias}
//   leaveRoom {roomId}   invite {roomId, userId}   waitForMembership {roomId, membership?}
//   sendText {roomId, body} → {eventId, encrypted}   sendEvent {roomId, type, content}
//   redactEvent {roomId, eventId, reason?} → {eventId}
//   roomThreads {roomId} → {threads: [{rootId, length, latestReplyId, latestBody, bundled}]}
//   waitForThread {roomId, rootId, length} → thread   (after startClient {threadSupport: true})
//   setRoomTag {roomId, tag, order?}   deleteRoomTag {roomId, tag}
//   waitForTags {roomId, tags} → {tags}   setIgnoredUsers {userIds}
//   timelineEventIds {roomId} → {eventIds}
//   waitForEvent {roomId, type?, body?, sender?, eventId?, timeoutMs?} → event, decrypted
//   userDevices {userId}   waitForDevice {userId, deviceId}   ownDeviceKeys {}
//   serverSupports {feature} → {supported}
//   crossSigningBootstrap {password?, noAuth?} → {ready, status, authAsked}
//   keyBackupBootstrap {} → {version, privateKey}
//   waitForKeyBackup {minSessions?}   restoreKeyBackup {privateKey, version} → {total, imported}
//   oauthBegin {baseUrl, clientName, clientUri, redirectUri, registeredUri?, responseMode?} → {url, clientId,
//     deviceId, state}: discovery, dynamic registration and the authorization URL, by
//     the SDK's OAuth2 helpers (the browser part is the test's)
//   oauthComplete {code, state} → {userId, deviceId, expiresIn, scope}: code exchange,
//     then the session is used like a login's (whoami, startClient, ...)
//   oauthRefresh {} → {expiresIn, rotated}   oauthRevoke {} (access token; ends the session)
//   logout {}   stop {} (answers, then exits 0)
// Every wait has a timeout (timeoutMs, default 30 s) and every other command
// is bounded too (60 s, or commandTimeoutMs): the driver always answers.
//
// Environment:
//   REVIER_JS_LOG   SDK log level on stderr: trace|debug|info|warn|error|silent
//                   (default warn)

import { createInterface } from "node:readline";
import { format } from "node:util";

// --- logging: must be in place before the SDK is loaded -------------------

const LEVELS = ["trace", "debug", "info", "warn", "error", "silent"];
const logLevel = LEVELS.includes(process.env.REVIER_JS_LOG) ? process.env.REVIER_JS_LOG : "warn";
const threshold = LEVELS.indexOf(logLevel);

function stderrWriter(level) {
    const enabled = LEVELS.indexOf(level) >= threshold;
    return (...args) => {
        if (enabled) process.stderr.write(`[${level}] ${format(...args)}\n`);
    };
}

// The SDK's loglevel factory looks up console[method] on every call, and
// child loggers start at DEBUG whatever the root's level, so redirecting
// console itself is what really keeps stdout clean.
console.trace = stderrWriter("trace");
console.debug = stderrWriter("debug");
console.log = stderrWriter("info");
console.info = stderrWriter("info");
console.warn = stderrWriter("warn");
console.error = stderrWriter("error");

// Node 20 lacks Promise.withResolvers, which recent SDKs use. The pinned
// Node 22 from node_modules has it; this only matters for a fallback node.
if (typeof Promise.withResolvers !== "function") {
    Promise.withResolvers = function withResolvers() {
        let resolve;
        let reject;
        const promise = new this((res, rej) => {
            resolve = res;
            reject = rej;
        });
        return { promise, resolve, reject };
    };
}

const sdk = await import("matrix-js-sdk");
const { ClientEvent, RoomEvent, RoomMemberEvent, MatrixEventEvent, SyncState, createClient } = sdk;

// The SDK's module-level logger (loglevel-based) is not exported from the
// package index in recent versions; its module has no exports map, so reach it
// directly. Child loggers made later copy this methodFactory.
const { logger: sdkLogger } = await import("matrix-js-sdk/lib/logger.js");
sdkLogger.methodFactory = (methodName) => stderrWriter(methodName === "log" ? "info" : methodName);
sdkLogger.setLevel(logLevel);

// --- protocol ---------------------------------------------------------------

const DEFAULT_TIMEOUT_MS = 30_000;

class CommandError extends Error {}

function send(message) {
    process.stdout.write(JSON.stringify(message) + "\n");
}

function describeError(err) {
    if (err instanceof CommandError) return err.message;
    // MatrixError: HTTP status and errcode from the server are what a test needs.
    if (err && typeof err === "object" && "errcode" in err && err.errcode) {
        const status = err.httpStatus ? `HTTP ${err.httpStatus} ` : "";
        const where = err.url ? ` (${String(err.url).replace(/\?.*$/, "")})` : "";
        return `${status}${err.errcode}: ${err.data?.error ?? err.message}${where}`;
    }
    if (err instanceof Error) return `${err.name}: ${err.message}`;
    return String(err);
}

/** Resolve with `promise`, or reject after `ms` with a message naming `what`. */
function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new CommandError(`timed out after ${ms} ms: ${what}`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// --- state ------------------------------------------------------------------

let client = null; // the logged-in MatrixClient
let password = null; // kept for user-interactive auth (cross-signing upload)
let started = false;
let lastSyncError = null; // the error behind the latest failed sync, for messages
let slidingSync = null; // the SlidingSync the client runs on, when started with one
let slidingRequests = 0; // sliding-sync responses received
let slidingErrors = []; // what the server answered to the sliding-sync requests that failed
let oauthFlow = null; // the OAuth 2.0 sign-in under way: the SDK's OAuth2 helper and its tokens

// A list covering every room of a test account, with all state: the room's
// encryption and members are what Rust crypto needs (reference §11.2).
const DEFAULT_SLIDING_LISTS = {
    all: { ranges: [[0, 49]], timeline_limit: 20, required_state: [["*", "*"]] },
};
const DEFAULT_SUBSCRIPTION = { timeline_limit: 20, required_state: [["*", "*"]] };

function requireClient() {
    if (!client) throw new CommandError("not logged in: call login first");
    return client;
}

function roomSummary(roomId) {
    const room = requireClient().getRoom(roomId);
    if (!room) return null;
    return {
        name: room.name,
        membership: room.getMyMembership(),
        notificationCount: room.getUnreadNotificationCount("total"),
        highlightCount: room.getUnreadNotificationCount("highlight"),
        joinedMembers: room.getJoinedMemberCount(),
        // Room upgrades: where the tombstone points, and what the room replaces.
        replacementRoom:
            room.currentState.getStateEvents("m.room.tombstone", "")?.getContent()?.replacement_room ?? null,
        predecessor: room.findPredecessor()?.roomId ?? null,
    };
}

function requireSliding() {
    if (!slidingSync) throw new CommandError("not on sliding sync: startClient with slidingSync");
    return slidingSync;
}

function requireCrypto() {
    const crypto = requireClient().getCrypto();
    if (!crypto) throw new CommandError("crypto is off: call startClient with crypto: true");
    return crypto;
}

function newClient({ baseUrl, userId, deviceId, accessToken }) {
    return createClient({
        baseUrl,
        userId,
        deviceId,
        accessToken,
        timelineSupport: true,
        logger: sdkLogger,
    });
}

/**
 * A thread as a test sees it: its root, its length and its newest reply, and the
 * summary the server bundled with the root (null: none), which the SDK starts from.
 */
function threadSummary(thread) {
    const latest = thread.replyToEvent;
    const bundled = thread.rootEvent?.getServerAggregatedRelation("m.thread");
    return {
        rootId: thread.id,
        length: thread.length,
        latestReplyId: latest?.getId() ?? null,
        latestBody: latest?.getContent().body ?? null,
        bundled: bundled
            ? {
                  count: bundled.count,
                  latestEventId: bundled.latest_event?.event_id ?? null,
                  participated: bundled.current_user_participated,
              }
            : null,
    };
}

/** The event as a test sees it: clear type and content if it was encrypted. */
function eventSummary(event) {
    return {
        eventId: event.getId(),
        roomId: event.getRoomId(),
        type: event.getType(),
        sender: event.getSender(),
        stateKey: event.getStateKey(),
        content: event.getContent(),
        originServerTs: event.getTs(),
        encrypted: event.isEncrypted(),
        decryptionFailure: event.isDecryptionFailure(),
    };
}

/**
 * Wait until `check()` returns a value other than undefined, re-checking when
 * any of the client's `triggers` fire and every `pollMs` as a backstop.
 */
function waitUntil(check, { timeoutMs, what, triggers = [], pollMs = 250, describe = () => "" }) {
    const cli = requireClient();
    return new Promise((resolve, reject) => {
        let done = false;
        let checking = false;
        let again = false;
        const finish = (fn, value) => {
            if (done) return;
            done = true;
            clearInterval(poll);
            clearTimeout(timer);
            for (const t of triggers) cli.off(t, onTrigger);
            fn(value);
        };
        const run = async () => {
            if (done) return;
            if (checking) {
                again = true;
                return;
            }
            checking = true;
            try {
                do {
                    again = false;
                    const value = await check();
                    if (value !== undefined) return finish(resolve, value);
                } while (again && !done);
            } catch (err) {
                finish(reject, err);
            } finally {
                checking = false;
            }
        };
        const onTrigger = () => void run();
        for (const t of triggers) cli.on(t, onTrigger);
        const poll = setInterval(onTrigger, pollMs);
        const timer = setTimeout(() => {
            const detail = describe();
            finish(reject, new CommandError(`timed out after ${timeoutMs} ms: ${what}${detail ? `; ${detail}` : ""}`));
        }, timeoutMs);
        void run();
    });
}

/** Wait until sync shows this client joined to `roomId` (so its state is known). */
function joinedRoom(roomId, timeoutMs) {
    const cli = requireClient();
    if (cli.getRoom(roomId)?.getMyMembership() === "join") return Promise.resolve();
    if (!started) throw new CommandError(`room ${roomId} not known: call startClient first`);
    return waitUntil(() => (cli.getRoom(roomId)?.getMyMembership() === "join" ? true : undefined), {
        timeoutMs,
        what: `sync to show ${roomId} joined before sending`,
        triggers: [ClientEvent.Room, RoomEvent.MyMembership],
        describe: () => `membership is ${cli.getRoom(roomId)?.getMyMembership() ?? "unknown (room not in sync)"}`,
    });
}

/** Whether the client will encrypt what it sends to `roomId` (crypto on and room encrypted). */
async function isEncrypted(roomId) {
    const crypto = requireClient().getCrypto();
    return crypto ? await crypto.isEncryptionEnabledInRoom(roomId) : false;
}

/** Wait until the client has taken in the room's m.room.encryption state. */
function encryptionKnown(roomId, timeoutMs) {
    const cli = requireClient();
    const crypto = cli.getCrypto();
    const check = crypto
        ? async () => ((await crypto.isEncryptionEnabledInRoom(roomId)) ? true : undefined)
        : () => (cli.getRoom(roomId)?.currentState.getStateEvents("m.room.encryption", "") ? true : undefined);
    return waitUntil(check, {
        timeoutMs,
        what: `sync to show ${roomId} encrypted`,
        triggers: [ClientEvent.Sync, RoomEvent.Timeline],
    });
}

// --- commands ---------------------------------------------------------------

const commands = {
    /** Password login; the driver keeps the session for later commands. */
    async login({ baseUrl, userId, password: pw, deviceName, deviceId }) {
        if (!baseUrl || !userId || pw === undefined) {
            throw new CommandError("login needs baseUrl, userId and password");
        }
        const anonymous = createClient({ baseUrl, logger: sdkLogger });
        const response = await anonymous.loginRequest({
            type: "m.login.password",
            identifier: { type: "m.id.user", user: userId },
            password: pw,
            ...(deviceName ? { initial_device_display_name: deviceName } : {}),
            ...(deviceId ? { device_id: deviceId } : {}),
        });
        await stopClient();
        client = newClient({
            baseUrl,
            userId: response.user_id,
            deviceId: response.device_id,
            accessToken: response.access_token,
        });
        password = pw;
        return { userId: response.user_id, deviceId: response.device_id, accessToken: response.access_token };
    },

    /** OAuth 2.0 sign-in, first half: what Element Web does before opening the browser. */
    // registeredUri: what is registered when it differs from redirectUri (a loopback
    // URI is registered without a port, and any port is then accepted: spec).
    async oauthBegin({ baseUrl, clientName, clientUri, redirectUri, registeredUri, responseMode = "query" }) {
        const anonymous = createClient({ baseUrl, logger: sdkLogger });
        const metadata = await anonymous.getAuthMetadata();
        const clientId = await sdk.OAuth2.registerClient(
            metadata,
            {
                client_name: clientName,
                client_uri: clientUri,
                redirect_uris: [registeredUri ?? redirectUri],
                application_type: "native",
            },
            sdkLogger,
        );
        const oauth = new sdk.OAuth2(metadata, { clientId }, sdkLogger);
        const state = globalThis.crypto.randomUUID();
        const url = await oauth.generateAuthorizationCodeGrantUrl(state, redirectUri, responseMode);
        oauthFlow = { baseUrl, oauth, redirectUri, state, tokens: null };
        return { url, clientId, deviceId: oauth.context.deviceId, state };
    },

    /** Second half: the code from the redirect, exchanged; the session becomes the client's. */
    async oauthComplete({ code, state }) {
        if (!oauthFlow) throw new CommandError("oauthBegin first");
        if (state !== oauthFlow.state) throw new CommandError("state does not match");
        const tokens = await oauthFlow.oauth.completeAuthorizationCodeGrant(code, oauthFlow.redirectUri);
        oauthFlow.tokens = tokens;
        await stopClient();
        const probe = createClient({ baseUrl: oauthFlow.baseUrl, accessToken: tokens.access_token, logger: sdkLogger });
        const me = await probe.whoami();
        client = newClient({
            baseUrl: oauthFlow.baseUrl,
            userId: me.user_id,
            deviceId: me.device_id,
            accessToken: tokens.access_token,
        });
        return { userId: me.user_id, deviceId: me.device_id, expiresIn: tokens.expires_in, scope: tokens.scope };
    },

    async oauthRefresh() {
        if (!oauthFlow?.tokens) throw new CommandError("oauthComplete first");
        const before = oauthFlow.tokens;
        const tokens = await oauthFlow.oauth.performRefreshTokenGrant(before.refresh_token);
        oauthFlow.tokens = tokens;
        client.setAccessToken(tokens.access_token);
        return { expiresIn: tokens.expires_in, rotated: tokens.refresh_token !== before.refresh_token };
    },

    async oauthRevoke() {
        if (!oauthFlow?.tokens) throw new CommandError("oauthComplete first");
        await oauthFlow.oauth.revokeToken(oauthFlow.tokens.access_token, "access_token");
        return {};
    },

    /** Use an existing session (e.g. one made by another client) instead of logging in. */
    async useSession({ baseUrl, userId, deviceId, accessToken, password: pw }) {
        if (!baseUrl || !userId || !accessToken) {
            throw new CommandError("useSession needs baseUrl, userId and accessToken");
        }
        await stopClient();
        client = newClient({ baseUrl, userId, deviceId, accessToken });
        password = pw ?? null;
        return { userId, deviceId: deviceId ?? null };
    },

    async whoami() {
        const r = await requireClient().whoami();
        return { userId: r.user_id, deviceId: r.device_id ?? null, isGuest: r.is_guest ?? false };
    },

    /** Bring up the Rust crypto stack (WASM, in-memory store) without syncing yet. */
    async initCrypto() {
        const cli = requireClient();
        if (!cli.getCrypto()) await cli.initRustCrypto({ useIndexedDB: false });
        return { crypto: true };
    },

    /**
     * Start syncing; with crypto, the Rust crypto stack (in memory) comes up first.
     * With `slidingSync` ({lists, subscription, timeoutMs}), the client syncs over
     * simplified sliding sync as Element Web does: SlidingSync is a start option,
     * given the homeserver's base URL; with crypto, the SDK adds the e2ee and
     * to_device extensions itself.
     */
    async startClient({ initialSyncLimit = 20, crypto = false, slidingSync: sliding = null, threadSupport = false } = {}) {
        const cli = requireClient();
        if (started) throw new CommandError("client already started");
        if (crypto && !cli.getCrypto()) await cli.initRustCrypto({ useIndexedDB: false });
        lastSyncError = null;
        cli.on(ClientEvent.Sync, (_state, _prev, data) => {
            if (data?.error) lastSyncError = data.error;
        });
        // threadSupport: threads as Element shows them (a thread panel, replies out
        // of the main timeline).
        const opts = { initialSyncLimit, threadSupport };
        if (sliding) {
            const { SlidingSync, SlidingSyncEvent } = await import("matrix-js-sdk/lib/sliding-sync.js");
            const lists = new Map(Object.entries(sliding.lists ?? DEFAULT_SLIDING_LISTS));
            slidingSync = new SlidingSync(
                cli.baseUrl,
                lists,
                sliding.subscription ?? DEFAULT_SUBSCRIPTION,
                cli,
                sliding.timeoutMs ?? 10_000,
            );
            slidingRequests = 0;
            slidingErrors = [];
            // The SDK starts over silently after any 400: keep what the server said.
            slidingSync.on(SlidingSyncEvent.Lifecycle, (_state, resp, err) => {
                if (err) {
                    slidingErrors.push(describeError(err));
                    lastSyncError = err;
                } else if (resp) {
                    slidingRequests += 1;
                }
            });
            opts.slidingSync = slidingSync;
        }
        await cli.startClient(opts);
        started = true;
        return { crypto: Boolean(cli.getCrypto()), slidingSync: Boolean(slidingSync) };
    },

    /** Change a sliding-sync list's window (Element Web grows it as the user scrolls). */
    async setListRanges({ list = "all", ranges }) {
        requireSliding().setListRanges(list, ranges);
        return {};
    },

    /** The count the server last gave for a sliding-sync list. */
    async listCount({ list = "all" }) {
        return { count: requireSliding().getListData(list)?.joinedCount ?? null };
    },

    /** Wait until the server's count for a sliding-sync list is `count`. */
    async waitForListCount({ list = "all", count, timeoutMs = DEFAULT_TIMEOUT_MS }) {
        const ss = requireSliding();
        const now = () => ss.getListData(list)?.joinedCount;
        await waitUntil(() => (now() === count ? true : undefined), {
            timeoutMs,
            what: `list ${list} to count ${count}`,
            triggers: [ClientEvent.Sync],
            describe: () => `count is ${now()}; server errors: ${slidingErrors.join("; ") || "none"}`,
        });
        return { count };
    },

    /** How the sliding-sync loop went: responses received, errors answered. */
    async slidingSyncStatus() {
        requireSliding();
        return { requests: slidingRequests, errors: slidingErrors };
    },

    /** A room as the client shows it (null if unknown): name, membership, unread counts. */
    async roomInfo({ roomId }) {
        return roomSummary(roomId);
    },

    /** Wait until the room as the client shows it has every given field's value. */
    async waitForRoom({ roomId, expect = {}, timeoutMs = DEFAULT_TIMEOUT_MS }) {
        const matches = () => {
            const info = roomSummary(roomId);
            return info && Object.entries(expect).every(([k, v]) => info[k] === v) ? info : undefined;
        };
        return await waitUntil(matches, {
            timeoutMs,
            what: `room ${roomId} with ${JSON.stringify(expect)}`,
            triggers: [ClientEvent.Room, ClientEvent.Sync, RoomEvent.Timeline, RoomEvent.MyMembership],
            describe: () => `room is ${JSON.stringify(roomSummary(roomId))}`,
        });
    },

    /** Resolve once the first sync has been processed (PREPARED or SYNCING). */
    async waitForSync({ timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
        const cli = requireClient();
        if (!started) throw new CommandError("client not started: call startClient first");
        const why = () => (lastSyncError ? describeError(lastSyncError) : "no error reported");
        const state = await waitUntil(
            () => {
                const s = cli.getSyncState();
                if (s === SyncState.Prepared || s === SyncState.Syncing) return s;
                if (s === SyncState.Error) throw new CommandError(`sync failed: ${why()}`);
                return undefined;
            },
            {
                timeoutMs,
                what: "initial sync",
                triggers: [ClientEvent.Sync],
                describe: () => `sync state ${cli.getSyncState()}, last error: ${why()}`,
            },
        );
        return { state };
    },

    /**
     * Create a room (options as in POST /createRoom). If the client is syncing,
     * wait until sync shows the room joined and — when the options ask for
     * encryption — until the client knows the room is encrypted: sync can show
     * a new room before all of its initial state, and the SDK sends in the clear
     * to a room whose m.room.encryption it hasn't seen yet.
     */
    async createRoom({ options = {}, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
        const cli = requireClient();
        const r = await cli.createRoom(options);
        const roomId = r.room_id;
        const wantsEncryption =
            (options.initial_state ?? []).some((e) => e.type === "m.room.encryption" && (e.state_key ?? "") === "");
        if (started) {
            await joinedRoom(roomId, timeoutMs);
            if (wantsEncryption) await encryptionKnown(roomId, timeoutMs);
        }
        return { roomId, encrypted: started ? await isEncrypted(roomId) : wantsEncryption };
    },

    async joinRoom({ roomIdOrAlias }) {
        const room = await requireClient().joinRoom(roomIdOrAlias);
        return { roomId: room.roomId };
    },

    async leaveRoom({ roomId }) {
        await requireClient().leave(roomId);
        return {};
    },

    async invite({ roomId, userId }) {
        await requireClient().invite(roomId, userId);
        return {};
    },

    /** Wait until this client's membership in a room (from sync) is `membership`. */
    async waitForMembership({ roomId, membership = "join", timeoutMs = DEFAULT_TIMEOUT_MS }) {
        const cli = requireClient();
        await waitUntil(() => (cli.getRoom(roomId)?.getMyMembership() === membership ? true : undefined), {
            timeoutMs,
            what: `membership ${membership} in ${roomId}`,
            triggers: [ClientEvent.Room, RoomEvent.MyMembership, RoomMemberEvent.Membership],
            describe: () => `membership is ${cli.getRoom(roomId)?.getMyMembership() ?? "unknown (room not in sync)"}`,
        });
        return { roomId, membership };
    },

    /**
     * Sends m.room.message/m.text; encrypted automatically in an encrypted room
     * with crypto on. Waits first until sync has shown the room joined: the SDK
     * decides whether to encrypt from the room state it has, and would send in
     * the clear to a room it doesn't know yet (e.g. just after createRoom).
     */
    async sendText({ roomId, body, timeoutMs = DEFAULT_TIMEOUT_MS }) {
        await joinedRoom(roomId, timeoutMs);
        const encrypted = await isEncrypted(roomId);
        const r = await requireClient().sendTextMessage(roomId, body);
        return { eventId: r.event_id, encrypted };
    },

    async sendEvent({ roomId, type, content = {}, timeoutMs = DEFAULT_TIMEOUT_MS }) {
        await joinedRoom(roomId, timeoutMs);
        const encrypted = await isEncrypted(roomId);
        const r = await requireClient().sendEvent(roomId, type, content);
        return { eventId: r.event_id, encrypted };
    },

    /** Redacts an event (redactions go in the clear, also in encrypted rooms). */
    async redactEvent({ roomId, eventId, reason, timeoutMs = DEFAULT_TIMEOUT_MS }) {
        await joinedRoom(roomId, timeoutMs);
        const r = await requireClient().redactEvent(roomId, eventId, undefined, reason ? { reason } : {});
        return { eventId: r.event_id };
    },

    /**
     * Wait for an event in a room's live timeline — already there or arriving
     * later — matching every given filter (type defaults to m.room.message).
     * Encrypted events are matched and returned on their decrypted content.
     */
    /** The room's threads as Element's thread panel loads them (GET /threads). */
    async roomThreads({ roomId }) {
        const room = requireClient().getRoom(roomId);
        if (!room) throw new CommandError(`room ${roomId} not known`);
        await room.createThreadsTimelineSets();
        await room.fetchRoomThreads();
        return { threads: room.getThreads().map(threadSummary) };
    },

    /** Wait until the thread of `rootId` has `length` replies (as the client counts them). */
    async waitForThread({ roomId, rootId, length, timeoutMs = DEFAULT_TIMEOUT_MS }) {
        const cli = requireClient();
        const thread = () => cli.getRoom(roomId)?.getThread(rootId);
        return waitUntil(() => (thread()?.length === length ? threadSummary(thread()) : undefined), {
            timeoutMs,
            what: `thread ${rootId} with ${length} replies`,
            triggers: [ClientEvent.Sync, RoomEvent.Timeline],
            describe: () => `it has ${thread()?.length ?? "no thread"}`,
        });
    },

    async waitForEvent({ roomId, type = "m.room.message", body, sender, eventId, timeoutMs = DEFAULT_TIMEOUT_MS }) {
        const cli = requireClient();
        if (!roomId) throw new CommandError("waitForEvent needs roomId");
        // An event that failed to decrypt carries a placeholder m.room.message
        // ("Unable to decrypt"); it matches nothing, and the SDK retries it
        // when the keys arrive (a to-device room key, a backup restore).
        const matches = (ev) =>
            !ev.isDecryptionFailure() &&
            !ev.isBeingDecrypted() &&
            (eventId === undefined || ev.getId() === eventId) &&
            (type === undefined || type === null || ev.getType() === type) &&
            (sender === undefined || ev.getSender() === sender) &&
            (body === undefined || ev.getContent()?.body === body);
        const seen = () => cli.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
        const event = await waitUntil(
            async () => {
                for (const ev of seen()) {
                    if (ev.isEncrypted() && !ev.getClearContent() && !ev.isBeingDecrypted()) {
                        await cli.decryptEventIfNeeded(ev);
                    }
                    if (matches(ev)) return ev;
                }
                return undefined;
            },
            {
                timeoutMs,
                what: `event ${JSON.stringify({ type, body, sender, eventId })} in ${roomId}`,
                triggers: [RoomEvent.Timeline, MatrixEventEvent.Decrypted, ClientEvent.Room],
                describe: () => {
                    const room = cli.getRoom(roomId);
                    if (!room) return "room not known from sync";
                    const events = seen();
                    const undecryptable = events.filter((e) => e.isDecryptionFailure()).length;
                    const recent = events
                        .slice(-5)
                        .map((e) => `${e.getType()} from ${e.getSender()}`)
                        .join(", ");
                    return `membership ${room.getMyMembership()}, ${events.length} events in timeline (${undecryptable} undecryptable); last: ${recent}`;
                },
            },
        );
        return eventSummary(event);
    },

    // --- tags and ignored users (room and global account data) ------------

    /** PUT a tag on a room (order optional), as Element's favourite button does. */
    async setRoomTag({ roomId, tag, order }) {
        await requireClient().setRoomTag(roomId, tag, order === undefined ? {} : { order });
        return {};
    },

    async deleteRoomTag({ roomId, tag }) {
        await requireClient().deleteRoomTag(roomId, tag);
        return {};
    },

    /** Wait until the room's tags (from m.tag in sync) are exactly `tags` (names, any order). */
    async waitForTags({ roomId, tags = [], timeoutMs = DEFAULT_TIMEOUT_MS }) {
        const cli = requireClient();
        const want = [...tags].sort().join("\n");
        const now = () => Object.keys(cli.getRoom(roomId)?.tags ?? {}).sort();
        await waitUntil(() => (now().join("\n") === want ? true : undefined), {
            timeoutMs,
            what: `tags ${JSON.stringify(tags)} on ${roomId}`,
            triggers: [RoomEvent.Tags, ClientEvent.Sync],
            describe: () => `tags are ${JSON.stringify(now())}`,
        });
        return { tags: cli.getRoom(roomId)?.tags ?? {} };
    },

    /** Replace the m.ignored_user_list (what Element's "Ignore" does). */
    async setIgnoredUsers({ userIds = [] }) {
        await requireClient().setIgnoredUsers(userIds);
        return {};
    },

    /** The event IDs of a room's live timeline, as the client holds them. */
    async timelineEventIds({ roomId }) {
        const events = requireClient().getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
        return { eventIds: events.map((e) => e.getId()) };
    },

    /** The device keys of `userId` as this client knows them (downloads if needed). */
    async userDevices({ userId }) {
        const map = await requireCrypto().getUserDeviceInfo([userId], true);
        const devices = map.get(userId) ?? new Map();
        return { deviceIds: [...devices.keys()].sort() };
    },

    /** Wait until this client's crypto knows device `deviceId` of `userId` (from /keys/query). */
    async waitForDevice({ userId, deviceId, timeoutMs = DEFAULT_TIMEOUT_MS }) {
        const crypto = requireCrypto();
        let known = [];
        await waitUntil(
            async () => {
                const map = await crypto.getUserDeviceInfo([userId], true);
                known = [...(map.get(userId)?.keys() ?? [])];
                return known.includes(deviceId) ? true : undefined;
            },
            {
                timeoutMs,
                what: `device ${deviceId} of ${userId}`,
                pollMs: 500,
                describe: () => `known devices: ${known.join(", ") || "none"}`,
            },
        );
        return { userId, deviceId };
    },

    /** This device's identity keys (needs crypto). */
    async ownDeviceKeys() {
        const keys = await requireCrypto().getOwnDeviceKeys();
        return { ed25519: keys.ed25519, curve25519: keys.curve25519 };
    },

    /** What Element asks before deciding, e.g. whether to set up cross-signing itself. */
    async serverSupports({ feature }) {
        if (!feature) throw new CommandError("serverSupports needs feature");
        return { supported: await requireClient().doesServerSupportUnstableFeature(feature) };
    },

    // --- end-to-end encryption extras --------------------------------------

    /**
     * Create and upload cross-signing keys, answering UIA with the login password
     * (with noAuth: never; the upload must then pass without). authAsked: whether
     * the server asked for user-interactive auth.
     */
    async crossSigningBootstrap({ password: pw, noAuth = false } = {}) {
        const crypto = requireCrypto();
        const cli = requireClient();
        const secret = noAuth ? null : pw ?? password;
        let authAsked = false;
        await crypto.bootstrapCrossSigning({
            setupNewCrossSigning: true,
            authUploadDeviceSigningKeys: async (makeRequest) => {
                try {
                    // Servers may accept the upload without UIA the first time.
                    return await makeRequest(null);
                } catch (err) {
                    if (err?.data?.flows) authAsked = true;
                    if (!err?.data?.flows || secret == null) throw err;
                    return makeRequest({
                        type: "m.login.password",
                        identifier: { type: "m.id.user", user: cli.getUserId() },
                        password: secret,
                        session: err.data.session,
                    });
                }
            },
        });
        const status = await crypto.getCrossSigningStatus();
        return { ready: await crypto.isCrossSigningReady(), status, authAsked };
    },

    /**
     * Create a new server-side key backup; returns its version and the backup
     * decryption key (base64) so another device can restore from it.
     */
    async keyBackupBootstrap() {
        const crypto = requireCrypto();
        await crypto.resetKeyBackup();
        const version = await crypto.getActiveSessionBackupVersion();
        const key = await crypto.getSessionBackupPrivateKey();
        return { version, privateKey: key ? Buffer.from(key).toString("base64") : null };
    },

    /**
     * Wait until the server's current key backup holds at least `minSessions`
     * room-key sessions (the SDK uploads them in the background, after a random
     * delay of up to ~10 s).
     */
    async waitForKeyBackup({ minSessions = 1, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
        const cli = requireClient();
        const crypto = requireCrypto();
        let count = 0;
        let version = null;
        await waitUntil(
            async () => {
                version = await crypto.getActiveSessionBackupVersion();
                if (!version) return undefined;
                const r = await cli.http.authedRequest(sdk.Method.Get, "/room_keys/keys", { version });
                count = Object.values(r.rooms ?? {}).reduce(
                    (n, room) => n + Object.keys(room.sessions ?? {}).length,
                    0,
                );
                return count >= minSessions ? true : undefined;
            },
            {
                timeoutMs,
                what: `${minSessions} session(s) in key backup`,
                pollMs: 1000,
                describe: () => `backup version ${version ?? "none active"} holds ${count}`,
            },
        );
        return { version, sessions: count };
    },

    /** Restore room keys from the server-side backup with a key from keyBackupBootstrap. */
    async restoreKeyBackup({ privateKey, version }) {
        const crypto = requireCrypto();
        if (privateKey && version) {
            await crypto.storeSessionBackupPrivateKey(Buffer.from(privateKey, "base64"), version);
        }
        await crypto.checkKeyBackupAndEnable();
        const r = await crypto.restoreKeyBackup();
        return { total: r.total, imported: r.imported };
    },

    // --- session end ------------------------------------------------------

    async logout() {
        const cli = requireClient();
        await cli.logout(true);
        await stopClient();
        client = null;
        password = null;
        return {};
    },

    async stop() {
        await stopClient();
        // Answer first, then leave once stdout has drained.
        setImmediate(() => process.stdout.write("", () => process.exit(0)));
        return {};
    },
};

async function stopClient() {
    if (client && started) {
        client.stopClient(); // stops the SlidingSync too
        started = false;
        slidingSync = null;
    }
}

// Commands that wait on a server may take a while; every other command is
// bounded too, so the driver always answers.
const WAITS = new Set([
    "waitForSync",
    "waitForEvent",
    "waitForMembership",
    "waitForDevice",
    "waitForKeyBackup",
    "waitForListCount",
    "waitForRoom",
]);

async function handle(line) {
    let request;
    try {
        request = JSON.parse(line);
    } catch (err) {
        send({ id: null, ok: false, error: `bad request line: ${err.message}` });
        return;
    }
    const { id = null, cmd, params = {} } = request;
    const command = Object.hasOwn(commands, cmd) ? commands[cmd] : undefined;
    if (!command) {
        send({ id, ok: false, error: `unknown command ${JSON.stringify(cmd)}` });
        return;
    }
    const limit = WAITS.has(cmd)
        ? (params.timeoutMs ?? DEFAULT_TIMEOUT_MS) + 5_000
        : (params.commandTimeoutMs ?? 2 * DEFAULT_TIMEOUT_MS);
    try {
        const result = await withTimeout(Promise.resolve().then(() => command(params)), limit, cmd);
        send({ id, ok: true, result: result ?? null });
    } catch (err) {
        console.error(`command ${cmd} failed:`, err instanceof CommandError ? err.message : err);
        send({ id, ok: false, error: describeError(err) });
    }
}

process.on("unhandledRejection", (reason) => {
    console.error("unhandled rejection:", reason);
});

const inFlight = new Set();
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
    if (!line.trim()) return;
    const p = handle(line).finally(() => inFlight.delete(p));
    inFlight.add(p);
});
rl.on("close", async () => {
    // stdin closed: the test is gone. Give commands already running a moment
    // to answer, then stop syncing and leave.
    await withTimeout(Promise.allSettled([...inFlight]), 2_000, "pending commands").catch(() => {});
    await stopClient();
    process.stdout.write("", () => process.exit(0));
});

send({ id: null, ok: true, result: { ready: true, node: process.version } });
