/**
 * Widget CSS, adopted into the shadow root as a constructable stylesheet, which a strict
 * `style-src 'self'` CSP allows (unlike <style> elements or style="" attributes).
 * Theme colours arrive as custom properties set with style.setProperty on the host.
 */
export const CSS = `
:host{all:initial;--misy-primary:#2E7D6B;--misy-on-primary:#fff;--misy-bg:#fff;--misy-fg:#1f2328;--misy-muted:#5b636b;--misy-border:#d8dde3;--misy-bot:#f1f3f5;--misy-danger:#b42318;--misy-radius:14px;position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--misy-fg)}
:host([data-mode=inline]){position:relative;right:auto;bottom:auto;z-index:auto;display:block;height:100%}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
button,textarea{font:inherit;color:inherit}
button{cursor:pointer}
:focus-visible{outline:3px solid var(--misy-primary);outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.launcher{display:flex;align-items:center;justify-content:center;width:60px;height:60px;margin-left:auto;border:0;border-radius:50%;background:var(--misy-primary);color:var(--misy-on-primary);box-shadow:0 6px 20px rgba(0,0,0,.22)}
.launcher:hover{filter:brightness(1.08)}
.launcher:focus-visible{outline-color:var(--misy-fg);outline-offset:3px}
.launcher svg{width:28px;height:28px;fill:currentColor}
.panel{display:flex;flex-direction:column;width:min(380px,calc(100vw - 24px));height:min(600px,calc(100vh - 110px));margin-bottom:12px;background:var(--misy-bg);border:1px solid var(--misy-border);border-radius:var(--misy-radius);box-shadow:0 12px 40px rgba(0,0,0,.2);overflow:hidden}
:host([data-mode=inline]) .panel{width:100%;height:100%;min-height:420px;margin:0;box-shadow:none}
.header{display:flex;align-items:center;gap:10px;padding:12px 14px;background:var(--misy-primary);color:var(--misy-on-primary)}
.avatar{flex:none;display:flex;align-items:center;justify-content:center;width:36px;height:36px;border-radius:50%;background:rgba(255,255,255,.22);font-weight:700}
.who{flex:1;min-width:0}
.title{margin:0;font-size:15px;font-weight:700;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.status{font-size:12px;opacity:.92}
.close{flex:none;width:34px;height:34px;border:0;border-radius:8px;background:transparent;color:inherit;font-size:22px;line-height:1}
.close:hover{background:rgba(255,255,255,.18)}
.close:focus-visible{outline-color:var(--misy-on-primary);outline-offset:-3px}
.notice{padding:8px 14px;background:#fff4e5;color:#7a4100;border-bottom:1px solid #f3d3a4;font-size:13px}
.notice[data-kind=error]{background:#fdecec;color:var(--misy-danger);border-color:#f5c2c0}
.log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;overscroll-behavior:contain}
.msg{display:flex;flex-direction:column;max-width:85%}
.msg[data-role=user]{align-self:flex-end;align-items:flex-end}
.msg[data-role=bot],.msg[data-role=human]{align-self:flex-start}
.bubble{padding:9px 12px;border-radius:var(--misy-radius);background:var(--misy-bot);overflow-wrap:anywhere}
.msg[data-role=user] .bubble{background:var(--misy-primary);color:var(--misy-on-primary);white-space:pre-wrap;border-bottom-right-radius:4px}
.msg[data-role=bot] .bubble,.msg[data-role=human] .bubble{border-bottom-left-radius:4px}
.msg[data-role=human] .bubble{border:1px solid var(--misy-primary)}
.msg[data-state=failed] .bubble{opacity:.75}
.msg[data-provisional] .bubble{opacity:.8}
.bubble p{margin:0}
.bubble p+p,.bubble p+ul,.bubble p+ol,.bubble ul+p,.bubble ol+p{margin-top:8px}
.bubble ul,.bubble ol{margin:4px 0;padding-left:20px}
.bubble a{color:inherit;text-decoration:underline}
.meta{display:flex;align-items:center;gap:8px;margin-top:3px;font-size:11.5px;color:var(--misy-muted)}
.msg[data-state=failed] .meta{color:var(--misy-danger)}
.retry{padding:2px 8px;border:1px solid currentColor;border-radius:999px;background:transparent;color:var(--misy-danger);font-size:11.5px}
.sources{margin-top:4px;font-size:11.5px;color:var(--misy-muted)}
.note{align-self:center;max-width:90%;font-size:12px;color:var(--misy-muted);text-align:center}
.card{align-self:flex-start;max-width:85%;padding:10px 12px;border:1px solid var(--misy-border);border-left:4px solid var(--misy-primary);border-radius:10px;background:var(--misy-bg)}
.card strong{display:block;margin-bottom:2px}
.card div{font-size:13px}
.typing{display:flex;align-items:center;gap:4px;padding:0 16px 8px}
.dot{width:7px;height:7px;border-radius:50%;background:var(--misy-muted);animation:misy-bounce 1.2s infinite ease-in-out}
.dot:nth-child(2){animation-delay:.15s}
.dot:nth-child(3){animation-delay:.3s}
@keyframes misy-bounce{0%,80%,100%{opacity:.3;transform:translateY(0)}40%{opacity:1;transform:translateY(-3px)}}
.composer{display:flex;align-items:flex-end;gap:8px;padding:10px;border-top:1px solid var(--misy-border)}
.input{flex:1;min-height:40px;max-height:140px;padding:9px 12px;border:1px solid var(--misy-border);border-radius:12px;background:var(--misy-bg);resize:none;line-height:1.4}
.input:focus-visible{outline-offset:0;border-color:var(--misy-primary)}
.input:disabled{background:#f3f4f6}
.send{flex:none;height:40px;padding:0 14px;border:0;border-radius:12px;background:var(--misy-primary);color:var(--misy-on-primary);font-weight:600}
.send:disabled{opacity:.5;cursor:default}
@media (max-width:480px){:host(:not([data-mode=inline])){right:12px;bottom:12px}:host(:not([data-mode=inline])) .panel{width:calc(100vw - 24px);height:calc(100vh - 96px)}}
@media (prefers-reduced-motion:reduce){.dot{animation:none}}
`;
