// Every string the widget shows, in English and Brazilian Portuguese. The
// inbox may override the first five per language (see WidgetSettings).

const en = {
  title: 'Chat with us',
  subtitle: 'We usually reply in a few minutes',
  greeting: 'Hi! How can we help?',
  placeholder: 'Write a message…',
  offline: "We're away right now. Leave a message and we'll reply by e-mail.",
  online: 'Online',
  away: 'Away',
  open: 'Open chat',
  close: 'Close chat',
  send: 'Send',
  attach: 'Attach a file',
  soundOn: 'Sound on',
  soundOff: 'Sound off',
  sending: 'Sending…',
  queued: 'Will be sent when you are back online',
  failed: 'Not sent',
  typing: '{name} is typing…',
  team: 'Team',
  you: 'You',
  preChatIntro: 'Before we start, tell us who you are.',
  name: 'Name',
  email: 'E-mail',
  start: 'Start chat',
  skip: 'Skip',
  askEmail: 'Get the reply by e-mail if you leave:',
  saved: "Thanks! We'll e-mail you if you're not here.",
  save: 'Save',
  closed: 'This conversation was closed. Write to start again.',
  identityNeeded: 'Please sign in to chat with us.',
  error: 'Something went wrong. Please try again.',
  refused: 'This message was not accepted. Remove it and try again.',
  remove: 'Remove',
  badEmail: 'Please enter a valid e-mail address.',
  unread: '{n} unread',
};

export type TextKey = keyof typeof en;
export type Texts = Record<TextKey, string>;

const ptBR: Texts = {
  title: 'Fale conosco',
  subtitle: 'Costumamos responder em poucos minutos',
  greeting: 'Olá! Como podemos ajudar?',
  placeholder: 'Escreva uma mensagem…',
  offline: 'Estamos ausentes agora. Deixe sua mensagem e responderemos por e-mail.',
  online: 'Online',
  away: 'Ausente',
  open: 'Abrir o chat',
  close: 'Fechar o chat',
  send: 'Enviar',
  attach: 'Anexar um arquivo',
  soundOn: 'Som ligado',
  soundOff: 'Som desligado',
  sending: 'Enviando…',
  queued: 'Será enviada quando você estiver online',
  failed: 'Não enviada',
  typing: '{name} está digitando…',
  team: 'Equipe',
  you: 'Você',
  preChatIntro: 'Antes de começar, conte quem é você.',
  name: 'Nome',
  email: 'E-mail',
  start: 'Iniciar conversa',
  skip: 'Pular',
  askEmail: 'Receba a resposta por e-mail se sair:',
  saved: 'Obrigado! Enviaremos um e-mail se você não estiver aqui.',
  save: 'Salvar',
  closed: 'Esta conversa foi encerrada. Escreva para começar de novo.',
  identityNeeded: 'Entre na sua conta para falar conosco.',
  error: 'Algo deu errado. Tente de novo.',
  refused: 'Esta mensagem não foi aceita. Remova-a e tente de novo.',
  remove: 'Remover',
  badEmail: 'Informe um e-mail válido.',
  unread: '{n} não lidas',
};

/** The widget's language for a browser or site language tag. */
export function pickLanguage(tag: string | undefined): 'en' | 'pt-BR' {
  return tag && /^pt\b/i.test(tag) ? 'pt-BR' : 'en';
}

/** The texts for a language, with the inbox's overrides applied. */
export function textsFor(language: string, overrides: Record<string, Record<string, string>> = {}): Texts {
  const base = language === 'pt-BR' ? ptBR : en;
  const primary = language.split('-')[0];
  return { ...base, ...overrides[primary], ...overrides[language] } as Texts;
}

export function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (_, key: string) => String(values[key] ?? ''));
}
