/** On the web there are no push notifications to open (see push-opener.native.tsx). */
export function PushOpener() {
  return null;
}
