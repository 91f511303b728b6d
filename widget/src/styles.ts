// The widget's styles live in its shadow root: the host page's CSS cannot
// reach in, and these cannot leak out.
export const css = `
:host{all:initial}
[hidden]{display:none!important}
*{box-sizing:border-box;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#18202b}
.root{position:fixed;bottom:20px;right:20px;z-index:2147483000}
.root.left{right:auto;left:20px}
button{cursor:pointer;border:0;background:none;padding:0}
button:focus-visible,textarea:focus-visible,input:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
.launcher{width:56px;height:56px;border-radius:50%;background:var(--accent);box-shadow:0 4px 16px rgba(0,0,0,.22);display:grid;place-items:center;position:relative}
.launcher svg{width:28px;height:28px;fill:var(--on-accent)}
.badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#d1242f;color:#fff;font-size:12px;font-weight:600;line-height:20px;text-align:center}
.panel{position:absolute;bottom:72px;right:0;width:370px;height:min(580px,calc(100vh - 110px));background:#fff;border-radius:14px;box-shadow:0 8px 40px rgba(0,0,0,.22);display:flex;flex-direction:column;overflow:hidden}
.left .panel{right:auto;left:0}
.panel[hidden]{display:none}
header{background:var(--accent);padding:14px 14px 14px 18px;display:flex;gap:8px;align-items:flex-start}
header *{color:var(--on-accent)}
header .who{flex:1;min-width:0}
header strong{display:block;font-size:16px;font-weight:600}
header small{font-size:12.5px}
.dot{display:inline-block;width:8px;height:8px;border-radius:50%;background:#b8c0cc;margin-right:6px}
.dot.on{background:#3fdc7a}
header button{width:30px;height:30px;border-radius:8px;font-size:18px;line-height:30px;text-align:center}
header button:hover{background:rgba(255,255,255,.18)}
header svg{width:18px;height:18px;fill:var(--on-accent);vertical-align:middle}
.attach svg{width:20px;height:20px;fill:currentColor}
.file{display:block;text-decoration:underline;margin-top:4px}
.file::before{content:"↓ "}
.log{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:8px;background:#f6f7f9}
.msg{max-width:80%;padding:8px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere}
.msg.agent,.msg.system{align-self:flex-start;background:#fff;border:1px solid #e3e6eb;border-bottom-left-radius:4px}
.msg.contact{align-self:flex-end;background:var(--accent);border-bottom-right-radius:4px}
.msg.contact,.msg.contact *{color:var(--on-accent)}
.avatar{display:inline-grid;place-items:center;width:22px;height:22px;border-radius:50%;background:#4a5260;color:#fff;font-size:10px;font-weight:700;margin-right:5px;vertical-align:middle}
.team{display:flex;margin-top:1px}.team .avatar{width:30px;height:30px;font-size:12px;border:2px solid #fff;background:#2b3340;margin-right:-8px}
.team:not(:empty){margin-right:12px}
.msg .by{display:block;font-size:12px;font-weight:600;color:#5b6472;margin-bottom:2px}
.msg time,.msg .state{display:block;font-size:11px;opacity:.75;margin-top:2px}
.msg.pending{opacity:.7}
.msg.failed{background:#fbe9eb}.msg.failed,.msg.failed *{color:#8a1c25}
.msg .remove{margin-left:8px;font-size:11px;font-weight:600;text-decoration:underline;padding:0}
.msg a{text-decoration:underline}
.md{white-space:normal}.md *{font:inherit;color:inherit}.md strong,.md th{font-weight:700}.md em{font-style:italic}.md h1,.md h2,.md h3,.md h4,.md h5,.md h6{font-weight:600}.md h1{font-size:1.25em}.md h2{font-size:1.15em}.md h3{font-size:1.05em}.md>*{margin:0 0 6px}.md>:last-child{margin-bottom:0}.md ul,.md ol{padding-left:18px}.md code{font-family:ui-monospace,monospace;font-size:.92em;background:#0000000d;padding:0 3px;border-radius:3px}.md pre{overflow-x:auto;background:#0000000d;padding:6px;border-radius:6px}.md pre code{background:none;padding:0}.md blockquote{border-left:3px solid #d0d5dd;padding-left:8px;color:#5b6472}
.msg img{display:block;max-width:100%;border-radius:8px;margin-top:4px}
.typing{font-size:12.5px;color:#5b6472;font-style:italic}
.notice{padding:8px 16px;font-size:12.5px;background:#fff8e1;color:#5c4500;border-top:1px solid #f0e3b5}
.notice form{display:flex;gap:6px;margin-top:6px}
form.prechat{padding:16px;display:flex;flex-direction:column;gap:8px;border-top:1px solid #e3e6eb}
label{font-size:12.5px;color:#5b6472;display:flex;flex-direction:column;gap:3px}
input{border:1px solid #cfd5dd;border-radius:8px;padding:7px 10px;width:100%}
.row{display:flex;gap:8px;justify-content:flex-end}
.primary{background:var(--accent);color:var(--on-accent);border-radius:8px;padding:7px 14px;font-weight:600}
.secondary{color:#5b6472;padding:7px 10px}
form.composer{display:flex;gap:6px;align-items:flex-end;padding:10px;border-top:1px solid #e3e6eb}
textarea{flex:1;resize:none;border:1px solid #cfd5dd;border-radius:10px;padding:8px 10px;max-height:120px;min-height:38px}
.attach{width:34px;height:38px;display:grid;place-items:center;border-radius:8px;color:#5b6472;font-size:18px}
.attach:hover{background:#eef0f3}
.send{height:38px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
@media (max-width:480px){.root{bottom:12px;right:12px}.root.left{left:12px}
.panel{position:fixed;inset:0;width:auto;height:auto;border-radius:0}
.root.open .launcher{display:none}}
`;
