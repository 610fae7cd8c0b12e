// The widget's configuration from its <script> tag, and its UI text in English and Chinese.
// A part of widget.js: see boot.js.

const TEXT = {
  en: {
    title: 'Chat with us',
    subtitleBot: 'Our assistant answers right away',
    open: 'Open chat',
    close: 'Close chat',
    placeholder: 'Type your question…',
    send: 'Send',
    person: 'Talk to a person',
    leave: 'Never mind, leave the line',
    notHelpful: "This didn't help",
    feedbackSent: 'Thanks for telling us',
    bot: 'Assistant',
    you: 'You',
    agent: 'Agent',
    queued: (n) => `You are number ${n} in the queue`,
    queuedNoPosition: 'You are in the queue for a person',
    wait: (m) => (m <= 1 ? 'Expected wait: about a minute' : `Expected wait: about ${m} minutes`),
    waitUnknown: 'No one is online right now. We will reply here as soon as someone is in.',
    closed: 'We are closed right now. We will reply here when we are back.',
    withAgent: (name) => `${name} is helping you`,
    waiting: 'Waiting for a person',
    resolved: 'This conversation is resolved. Write again any time.',
    rateAsk: 'How did we do?',
    rateStar: (n) => `Rate ${n} out of 5`,
    rateThanks: 'Thank you for your rating!',
    sending: 'Sending…',
    failed: 'Not sent.',
    retry: 'Retry',
    reconnecting: 'Reconnecting…',
    unavailable: 'The chat is unavailable right now. Please try again later.',
    busy: 'Too many requests. Please wait a moment.',
    links: 'Links',
    unread: (n) => `${n} new`,
    identityRefused: 'We could not confirm that you are signed in (your sign-in may have expired). ' +
      'Reload the page or sign in again to continue your conversation; nothing in it is lost.',
  },
  zh: {
    title: '在线客服',
    subtitleBot: '智能助手即时回答',
    open: '打开客服对话',
    close: '关闭对话',
    placeholder: '请输入您的问题…',
    send: '发送',
    person: '转人工',
    leave: '不用了，退出排队',
    notHelpful: '没有帮助',
    feedbackSent: '感谢您的反馈',
    bot: '智能助手',
    you: '我',
    agent: '客服',
    queued: (n) => `您正在排队，您是第 ${n} 位`,
    queuedNoPosition: '您正在排队等待人工客服',
    wait: (m) => `预计等待约 ${Math.max(1, m)} 分钟`,
    waitUnknown: '现在没有客服在线，有人上线后会在这里回复您。',
    closed: '现在是非工作时间，我们上班后会在这里回复您。',
    withAgent: (name) => `${name} 正在为您服务`,
    waiting: '正在等待人工客服',
    resolved: '本次会话已结束，随时可以再次提问。',
    rateAsk: '请为本次服务评分',
    rateStar: (n) => `${n} 分（满分 5 分）`,
    rateThanks: '感谢您的评价！',
    sending: '发送中…',
    failed: '发送失败。',
    retry: '重试',
    reconnecting: '正在重新连接…',
    unavailable: '客服暂时不可用，请稍后再试。',
    busy: '请求过于频繁，请稍候。',
    links: '相关链接',
    unread: (n) => `${n} 条新消息`,
    identityRefused: '无法确认您的登录身份（登录可能已过期）。请刷新页面或重新登录后继续对话，之前的对话内容不会丢失。',
  },
};

function pickLocale(tag) {
  return String(tag || '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

const locale = pickLocale(script.dataset.locale || document.documentElement.lang || navigator.language);
const t = TEXT[locale];
const apiBase = (script.dataset.api || new URL(script.src, location.href).origin).replace(/\/+$/, '');
const title = script.dataset.title || t.title;
const storageKey = `kefu.widget.${desk}`;
const startPath = `/v1/desks/${encodeURIComponent(desk)}/conversations`;
