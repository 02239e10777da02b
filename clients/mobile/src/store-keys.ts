/** Where the last server and email are remembered, for the sign-in form. */
export const SERVER_URL_KEY = "invoicer.server_url";
export const EMAIL_KEY = "invoicer.email";
