import { unwrap } from "@invoicer/sdk";
import { Redirect, Stack, useLocalSearchParams, useRouter } from "expo-router";
import { useEffect, useState } from "react";
import { Alert, Image, Platform, ScrollView, Text, TextInput, View } from "react-native";
import { Badge, Button, colors, Screen, styles } from "../../components/ui";
import { useApp } from "../../src/app-context";
import { confidenceOf, correctedField, DOUBTFUL_BELOW, FIELDS, invoiceTitle, valueOf } from "../../src/invoices";

/** The original as something an <Image> can show: a blob URL on the web, the URL with the token on a phone. */
function useInvoiceImage(id: string, contentType: string | undefined): { uri: string; headers?: Record<string, string> } | null {
  const { session, serverUrl } = useApp();
  const [source, setSource] = useState<{ uri: string; headers?: Record<string, string> } | null>(null);
  useEffect(() => {
    if (!contentType?.startsWith("image/")) return;
    const url = `${serverUrl}/api/v1/invoices/${id}/file`;
    if (Platform.OS !== "web") {
      setSource({ uri: url, headers: { Authorization: `Bearer ${session.accessToken ?? ""}` } });
      return;
    }
    let revoke: string | null = null;
    void session.fetch(new Request(url)).then(async (response) => {
      if (!response.ok) return;
      revoke = URL.createObjectURL(await response.blob());
      setSource({ uri: revoke });
    });
    return () => {
      if (revoke) URL.revokeObjectURL(revoke);
    };
  }, [id, contentType, session, serverUrl]);
  return source;
}

export default function InvoiceScreen() {
  const { id } = useLocalSearchParams<{ id: string }>();
  const app = useApp();
  const router = useRouter();
  const invoice = app.invoices.items.find((item) => item.id === id);
  const [editing, setEditing] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const image = useInvoiceImage(id, invoice?.content_type);
  const { refreshInvoice } = app;
  const signedIn = app.snapshot.state === "signed-in";

  useEffect(() => {
    if (signedIn) void refreshInvoice(id);
  }, [id, refreshInvoice, signedIn]);

  if (app.snapshot.state === "signed-out") return <Redirect href="/sign-in" />;
  if (!invoice) {
    return (
      <Screen>
        <Text style={[styles.small, { padding: 20 }]}>Loading…</Text>
      </Screen>
    );
  }

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : "That did not work");
    } finally {
      setBusy(false);
    }
  };

  const save = (field: string) =>
    run(async () => {
      const updated = unwrap(
        await app.api.PATCH("/api/v1/invoices/{invoice_id}", {
          params: { path: { invoice_id: id } },
          body: { fields: { [field]: draft.trim() === "" ? null : draft.trim() } },
        }),
      );
      setEditing(null);
      await refreshInvoice(updated.id);
    });

  const confirm = () =>
    run(async () => {
      unwrap(await app.api.POST("/api/v1/invoices/{invoice_id}/confirm", { params: { path: { invoice_id: id } } }));
      await refreshInvoice(id);
    });

  const remove = () => {
    const doDelete = () =>
      run(async () => {
        const result = await app.api.DELETE("/api/v1/invoices/{invoice_id}", { params: { path: { invoice_id: id } } });
        if (!result.response.ok) unwrap(result);
        app.removeInvoice(id);
        router.back();
      });
    if (Platform.OS === "web") {
      if (globalThis.confirm?.("Delete this invoice?") ?? true) void doDelete();
    } else {
      Alert.alert("Delete this invoice?", "It is removed for everyone in your organization.", [
        { text: "Cancel", style: "cancel" },
        { text: "Delete", style: "destructive", onPress: () => void doDelete() },
      ]);
    }
  };

  const review = invoice.review?.state;
  const finished = invoice.status === "processed" || invoice.status === "failed";
  return (
    <Screen>
      <Stack.Screen options={{ title: invoiceTitle(invoice) }} />
      <ScrollView contentContainerStyle={{ padding: 12, gap: 12 }}>
        <View style={{ flexDirection: "row", gap: 6, alignItems: "center", flexWrap: "wrap" }}>
          <Badge label={invoice.status} />
          {review && <Badge label={review} />}
          <Text style={styles.small}>{invoice.filename}</Text>
        </View>
        {invoice.error && <Text style={styles.error}>{invoice.error.message}</Text>}
        {image && (
          <Image
            source={image}
            accessibilityLabel="The invoice as sent"
            resizeMode="contain"
            style={{ width: "100%", height: 260, backgroundColor: "#1f2330", borderRadius: 12 }}
          />
        )}
        {!finished && <Text style={styles.small}>Being read… this page updates by itself.</Text>}
        <View style={[styles.card, { gap: 4 }]}>
          {FIELDS.map(({ name, label }) => {
            const value = valueOf(invoice, name);
            const confidence = confidenceOf(invoice, name);
            const corrected = correctedField(invoice, name);
            const doubtful = !corrected && confidence !== null && confidence < DOUBTFUL_BELOW;
            if (editing === name) {
              return (
                <View key={name} style={{ gap: 6, paddingVertical: 6 }}>
                  <Text style={styles.label}>{label}</Text>
                  <TextInput
                    accessibilityLabel={`${label} value`}
                    style={styles.input}
                    value={draft}
                    onChangeText={setDraft}
                    autoFocus
                    autoCapitalize="none"
                  />
                  <View style={{ flexDirection: "row", gap: 8 }}>
                    <Button label="Save" onPress={() => void save(name)} disabled={busy} />
                    <Button label="Cancel" kind="secondary" onPress={() => setEditing(null)} />
                  </View>
                </View>
              );
            }
            return (
              <View
                key={name}
                style={{ flexDirection: "row", alignItems: "center", minHeight: 44, borderBottomWidth: 1, borderColor: colors.line }}
              >
                <View style={{ flex: 1 }}>
                  <Text style={styles.small}>
                    {label}
                    {confidence !== null && !corrected ? ` · ${Math.round(confidence * 100)}%` : ""}
                    {corrected ? " · corrected" : ""}
                  </Text>
                  <Text
                    style={[styles.text, doubtful && { color: colors.warn, fontWeight: "700" }]}
                    accessibilityLabel={`${label}: ${value === null || value === undefined ? "none" : String(value)}${doubtful ? ", doubtful" : ""}`}
                  >
                    {value === null || value === undefined ? "—" : String(value)}
                    {doubtful ? "  ⚠ check" : ""}
                  </Text>
                </View>
                {finished && (
                  <Button
                    label="Edit"
                    kind="secondary"
                    onPress={() => {
                      setDraft(value === null || value === undefined ? "" : String(value));
                      setEditing(name);
                    }}
                    testID={`edit-${name}`}
                  />
                )}
              </View>
            );
          })}
        </View>
        {error && (
          <Text accessibilityRole="alert" style={styles.error}>
            {error}
          </Text>
        )}
        <View style={{ flexDirection: "row", gap: 8 }}>
          {finished && review !== "confirmed" && <Button label="Confirm" onPress={() => void confirm()} disabled={busy} />}
          <Button label="Delete" kind="danger" onPress={remove} disabled={busy} />
        </View>
      </ScrollView>
    </Screen>
  );
}
