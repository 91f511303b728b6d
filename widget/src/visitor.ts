// What the widget tells the team about the visitor's browser (the contact
// panel shows it): page, referrer, browser, OS, language, time zone.

function browserName(ua: string): string {
  const found =
    /(Edg|OPR|SamsungBrowser|Firefox|Chrome|CriOS|FxiOS|Version)\/([\d.]+)/.exec(ua) ?? undefined;
  if (!found) return 'Other';
  const names: Record<string, string> = {
    Edg: 'Edge',
    OPR: 'Opera',
    SamsungBrowser: 'Samsung Internet',
    CriOS: 'Chrome',
    FxiOS: 'Firefox',
    Version: 'Safari',
  };
  return `${names[found[1]] ?? found[1]} ${found[2].split('.')[0]}`;
}

function osName(ua: string): string {
  if (/Windows NT/.test(ua)) return 'Windows';
  if (/Android/.test(ua)) return 'Android';
  if (/iPhone|iPad|iPod/.test(ua)) return 'iOS';
  if (/Mac OS X/.test(ua)) return 'macOS';
  if (/CrOS/.test(ua)) return 'ChromeOS';
  if (/Linux/.test(ua)) return 'Linux';
  return 'Other';
}

export function visitorFacts(): Record<string, string | number> {
  const ua = navigator.userAgent;
  let timeZone = '';
  try {
    timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    // Old browsers: no time zone.
  }
  return {
    page_url: location.href.slice(0, 2048),
    page_title: document.title.slice(0, 300),
    referrer: document.referrer.slice(0, 2048),
    browser: browserName(ua),
    os: osName(ua),
    user_agent: ua.slice(0, 500),
    language: navigator.language,
    time_zone: timeZone,
    screen: `${screen.width}x${screen.height}`,
  };
}
