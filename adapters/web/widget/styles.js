// The widget's stylesheet, adopted into its shadow root (view.js); nothing reaches the host page.
// A part of widget.js: see boot.js.

function CSS_TEXT() {
  return `
:host { all: initial; }
.kefu {
  --kefu-accent: #1f6feb; --kefu-accent-ink: #fff; --kefu-bg: #fff; --kefu-ink: #1c2128;
  --kefu-muted: #59636e; --kefu-line: #d8dee4; --kefu-soft: #f1f4f8;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC",
    "PingFang SC", "Microsoft YaHei", sans-serif;
  color: var(--kefu-ink);
  -webkit-font-smoothing: antialiased;
}
.kefu *, .kefu *::before, .kefu *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
button { font: inherit; color: inherit; cursor: pointer; }
button:disabled { cursor: default; opacity: .6; }
button:focus-visible, textarea:focus-visible, a:focus-visible { outline: 2px solid var(--kefu-accent); outline-offset: 2px; }
.bubble {
  position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  width: 60px; height: 60px; border-radius: 50%; border: 0; padding: 0;
  background: var(--kefu-accent); color: var(--kefu-accent-ink);
  box-shadow: 0 6px 20px rgba(0,0,0,.22); display: grid; place-items: center;
}
.bubble svg { width: 28px; height: 28px; fill: currentColor; }
.badge {
  position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #d1242f; color: #fff; font-size: 12px; font-weight: 700;
  line-height: 22px; text-align: center;
}
.panel {
  position: fixed; right: 20px; bottom: 92px; z-index: 2147483000;
  width: 380px; height: min(640px, calc(100vh - 112px));
  display: flex; flex-direction: column; overflow: hidden;
  background: var(--kefu-bg); border: 1px solid var(--kefu-line); border-radius: 14px;
  box-shadow: 0 12px 40px rgba(0,0,0,.22);
}
.head { display: flex; align-items: center; gap: 8px; padding: 12px 12px 12px 16px; background: var(--kefu-accent); color: var(--kefu-accent-ink); }
.head-text { flex: 1; min-width: 0; }
.title { font-weight: 700; font-size: 16px; }
.status { font-size: 13px; opacity: .9; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.close { border: 0; background: transparent; color: inherit; font-size: 26px; line-height: 1; width: 36px; height: 36px; border-radius: 8px; }
.close:hover { background: rgba(255,255,255,.15); }
.ticket { white-space: nowrap; }
.banner { display: flex; flex-direction: column; gap: 2px; padding: 8px 16px; background: #fff8c5; border-bottom: 1px solid #eed888; font-size: 13px; }
.panel[data-state="agent"] .banner { background: #dafbe1; border-color: #aceebb; }
.conn { padding: 4px 16px; background: var(--kefu-soft); color: var(--kefu-muted); font-size: 12px; }
.log { flex: 1; overflow-y: auto; padding: 14px 12px; background: var(--kefu-soft); overscroll-behavior: contain; }
.list, .pending { display: flex; flex-direction: column; gap: 10px; }
.pending:not(:empty) { margin-top: 10px; }
.msg { max-width: 85%; display: flex; flex-direction: column; gap: 6px; align-self: flex-start; }
.msg .text {
  padding: 9px 12px; border-radius: 14px; background: #fff; border: 1px solid var(--kefu-line);
  white-space: pre-wrap; overflow-wrap: anywhere;
}
.msg-customer { align-self: flex-end; }
.msg-customer .text { background: var(--kefu-accent); color: var(--kefu-accent-ink); border-color: var(--kefu-accent); }
.msg-agent .text { border-color: #8ddb9e; }
.msg-system { align-self: center; max-width: 92%; }
.msg-system .text { background: transparent; border: 0; color: var(--kefu-muted); font-size: 13px; text-align: center; padding: 2px 8px; }
.who { font-size: 12px; color: var(--kefu-muted); padding-left: 4px; }
.is-pending .text { opacity: .75; }
.is-failed .text { background: #ffebe9; color: #82071e; border-color: #ff8182; }
.note { font-size: 12px; color: var(--kefu-muted); text-align: right; }
.retry { border: 0; background: none; padding: 0; color: var(--kefu-accent); text-decoration: underline; }
.links { list-style: none; margin: 0; padding: 0 4px; display: flex; flex-direction: column; gap: 2px; font-size: 14px; }
.links a { color: var(--kefu-accent); text-decoration: underline; overflow-wrap: anywhere; }
.choices { display: flex; flex-wrap: wrap; gap: 6px; }
.choice {
  border: 1px solid var(--kefu-accent); background: #fff; color: var(--kefu-accent);
  border-radius: 16px; padding: 5px 12px; font-size: 14px; text-align: left;
}
.choice:hover { background: #ddf4ff; }
.feedback { align-self: flex-start; border: 0; background: none; padding: 0 4px; font-size: 12px; color: var(--kefu-muted); text-decoration: underline; }
.rate { padding: 10px 16px; border-top: 1px solid var(--kefu-line); display: flex; align-items: center; justify-content: space-between; gap: 8px; flex-wrap: wrap; }
.rate-label { font-weight: 600; font-size: 14px; }
.stars { display: flex; gap: 2px; }
.star { border: 0; background: none; font-size: 26px; line-height: 1; color: #c4c9cf; padding: 2px 3px; }
.stars:hover .star { color: #d4a72c; }
.stars .star:hover ~ .star { color: #c4c9cf; }
.star.on { color: #d4a72c; }
.error { padding: 6px 16px; background: #ffebe9; color: #82071e; font-size: 13px; }
.actions { display: flex; justify-content: center; padding: 8px 12px 0; }
.person { border: 1px solid var(--kefu-line); background: #fff; border-radius: 16px; padding: 5px 14px; font-size: 14px; }
.person:hover { border-color: var(--kefu-accent); color: var(--kefu-accent); }
.leave { display: block; margin-top: 4px; border: 0; background: none; padding: 0; font-size: 13px; color: var(--kefu-accent); text-decoration: underline; cursor: pointer; }
.composer { display: flex; gap: 8px; align-items: flex-end; padding: 10px 12px 12px; }
.input {
  flex: 1; resize: none; min-height: 42px; max-height: 120px; padding: 10px 12px;
  font: inherit; color: inherit; background: #fff;
  border: 1px solid var(--kefu-line); border-radius: 12px;
}
.send { border: 0; border-radius: 12px; background: var(--kefu-accent); color: var(--kefu-accent-ink); font-weight: 600; padding: 0 16px; height: 42px; }
@media (max-width: 480px) {
  .panel { inset: 0; width: 100%; height: 100%; border-radius: 0; border: 0; }
  .is-open .bubble { display: none; }
  .msg { max-width: 92%; }
}
@media (prefers-reduced-motion: no-preference) {
  .panel { animation: kefu-in .16s ease-out; }
  @keyframes kefu-in { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }
}
`;
}
