import { Redirect, Stack, useRouter } from "expo-router";
import { useCallback, useEffect, useState } from "react";
import { FlatList, Pressable, RefreshControl, Text, TextInput, View } from "react-native";
import { Badge, Button, colors, Screen, styles } from "../components/ui";
import { invoiceTitle, useApp } from "../src/app-context";
import { valueOf, type ListedInvoice } from "../src/invoices";

function Row({ invoice, onPress }: { invoice: ListedInvoice; onPress: () => void }) {
  const total = valueOf(invoice, "total");
  const currency = valueOf(invoice, "currency");
  const review = invoice.review?.state;
  return (
    <Pressable
      accessibilityRole="button"
      accessibilityLabel={`${invoiceTitle(invoice)}, ${invoice.status}`}
      onPress={onPress}
      style={[styles.card, { marginHorizontal: 12, marginBottom: 8, gap: 6 }]}
    >
      <View style={{ flexDirection: "row", justifyContent: "space-between", gap: 8 }}>
        <Text style={[styles.text, { fontWeight: "600", flexShrink: 1 }]} numberOfLines={1}>
          {invoiceTitle(invoice)}
        </Text>
        <Text style={styles.text}>{total ? `${String(total)} ${currency ? String(currency) : ""}` : ""}</Text>
      </View>
      <View style={{ flexDirection: "row", gap: 6, alignItems: "center" }}>
        <Badge label={invoice.status} />
        {review && review !== "not_needed" && <Badge label={review} />}
        <Text style={styles.small}>{invoice.created_at ? new Date(invoice.created_at).toLocaleString() : ""}</Text>
      </View>
      {invoice.status === "failed" && invoice.error && <Text style={styles.error}>{invoice.error.message}</Text>}
    </Pressable>
  );
}

export default function Invoices() {
  const app = useApp();
  const router = useRouter();
  const [search, setSearch] = useState("");
  const [refreshing, setRefreshing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const signedIn = app.snapshot.state === "signed-in";
  const { reload } = app;

  const refresh = useCallback(async () => {
    setRefreshing(true);
    try {
      await reload(search);
      setError(null);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : "Could not load your invoices");
    } finally {
      setRefreshing(false);
    }
  }, [reload, search]);

  useEffect(() => {
    if (!signedIn) return;
    const timer = setTimeout(() => void refresh(), search ? 300 : 0);
    return () => clearTimeout(timer);
  }, [signedIn, refresh, search]);

  if (!app.ready) return <Screen>{null}</Screen>;
  if (!signedIn) return <Redirect href="/sign-in" />;

  const waiting = app.queue.items.length;
  return (
    <Screen>
      <Stack.Screen
        options={{
          headerRight: () => (
            <Pressable accessibilityRole="button" onPress={() => void app.signOut()} style={{ padding: 10 }}>
              <Text style={{ color: colors.accent, fontSize: 16 }}>Sign out</Text>
            </Pressable>
          ),
        }}
      />
      <View style={{ padding: 12, gap: 10 }}>
        <View style={{ flexDirection: "row", gap: 8 }}>
          <TextInput
            accessibilityLabel="Search invoices"
            placeholder="Search vendor, number, file"
            style={[styles.input, { flex: 1 }]}
            value={search}
            onChangeText={setSearch}
            autoCapitalize="none"
          />
          <Button label="New" onPress={() => router.push("/capture")} testID="new-invoice" />
        </View>
        <Text style={styles.small} testID="connection">
          {app.connection === "connected" ? "Live" : app.connection === "closed" ? "Not live" : "Reconnecting…"}
          {app.queue.offline ? " · offline" : ""}
        </Text>
        {waiting > 0 && (
          <Pressable accessibilityRole="button" onPress={() => router.push("/queue")} style={[styles.card, { borderColor: colors.warn }]}>
            <Text style={styles.text}>
              {waiting} waiting to send{app.queue.items.some((i) => i.state === "failed") ? " (some failed)" : ""}
            </Text>
            <Text style={styles.small}>Sent by themselves when the network is back. Tap to see them.</Text>
          </Pressable>
        )}
        {error && <Text style={styles.error}>{error}</Text>}
      </View>
      <FlatList
        data={app.invoices.items}
        keyExtractor={(invoice) => invoice.id}
        renderItem={({ item }) => <Row invoice={item} onPress={() => router.push(`/invoices/${item.id}`)} />}
        refreshControl={<RefreshControl refreshing={refreshing} onRefresh={() => void refresh()} />}
        ListEmptyComponent={
          <Text style={[styles.small, { textAlign: "center", padding: 24 }]}>
            {search ? "Nothing matches." : "No invoices yet. Tap New to photograph one."}
          </Text>
        }
      />
    </Screen>
  );
}
