import { Redirect } from "expo-router";
import { useEffect, useState } from "react";
import { KeyboardAvoidingView, Platform, ScrollView, Text, TextInput, View } from "react-native";
import { Button, Screen, styles } from "../components/ui";
import { useApp } from "../src/app-context";

export default function SignIn() {
  const app = useApp();
  const [url, setUrl] = useState(app.serverUrl);
  const [email, setEmail] = useState(app.email);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => setUrl((current) => current || app.serverUrl), [app.serverUrl]);
  useEffect(() => setEmail((current) => current || app.email), [app.email]);

  if (app.snapshot.state === "signed-in") return <Redirect href="/" />;

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await app.signIn(url, email, password);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : "Could not sign in");
    } finally {
      setBusy(false);
    }
  };

  const reason =
    app.snapshot.reason === "revoked" || app.snapshot.reason === "expired" ? "Your session ended: sign in again." : null;
  return (
    <Screen>
      <KeyboardAvoidingView behavior={Platform.OS === "ios" ? "padding" : undefined} style={{ flex: 1 }}>
        <ScrollView contentContainerStyle={{ padding: 20, gap: 14 }} keyboardShouldPersistTaps="handled">
          <Text style={styles.title}>Invoicer</Text>
          <Text style={styles.small}>Photograph an invoice, send it, see it read.</Text>
          {reason && <Text style={styles.error}>{reason}</Text>}
          <View>
            <Text style={styles.label} nativeID="server-label">Server URL</Text>
            <TextInput
              accessibilityLabel="Server URL"
              aria-labelledby="server-label"
              style={styles.input}
              value={url}
              onChangeText={setUrl}
              autoCapitalize="none"
              autoCorrect={false}
              keyboardType="url"
              placeholder="https://invoices.example.com"
            />
          </View>
          <View>
            <Text style={styles.label}>Email</Text>
            <TextInput
              accessibilityLabel="Email"
              style={styles.input}
              value={email}
              onChangeText={setEmail}
              autoCapitalize="none"
              autoComplete="email"
              keyboardType="email-address"
            />
          </View>
          <View>
            <Text style={styles.label}>Password</Text>
            <TextInput
              accessibilityLabel="Password"
              style={styles.input}
              value={password}
              onChangeText={setPassword}
              secureTextEntry
              autoComplete="password"
              onSubmitEditing={() => void submit()}
            />
          </View>
          {error && (
            <Text accessibilityRole="alert" style={styles.error}>
              {error}
            </Text>
          )}
          <Button label={busy ? "Signing in…" : "Sign in"} onPress={() => void submit()} disabled={busy || !url || !email || !password} />
        </ScrollView>
      </KeyboardAvoidingView>
    </Screen>
  );
}
