import { FlatList, Text, View } from "react-native";
import { Badge, Button, ProgressBar, Screen, styles } from "../components/ui";
import { useApp } from "../src/app-context";

export default function Queue() {
  const app = useApp();
  const { items, progress, offline } = app.queue;
  return (
    <Screen>
      <Text style={[styles.small, { padding: 12 }]}>
        {offline ? "Offline: these are kept on the phone and sent once the network is back." : "Sent in order, each exactly once."}
      </Text>
      <FlatList
        data={[...items]}
        keyExtractor={(item) => item.key}
        ListEmptyComponent={<Text style={[styles.small, { textAlign: "center", padding: 24 }]}>Nothing waiting.</Text>}
        renderItem={({ item }) => (
          <View style={[styles.card, { marginHorizontal: 12, marginBottom: 8, gap: 6 }]}>
            <View style={{ flexDirection: "row", justifyContent: "space-between" }}>
              <Text style={styles.text}>{item.filename}</Text>
              <Badge label={item.state} />
            </View>
            <Text style={styles.small}>
              {Math.round(item.bytes / 1024)} KB · {new Date(item.createdAt).toLocaleString()} · tries {item.attempts}
            </Text>
            {item.state === "sending" && <ProgressBar fraction={progress[item.key] ?? 0} label="Upload progress" />}
            {item.error && (
              <Text style={item.state === "failed" ? styles.error : styles.small}>
                {item.state === "failed" ? item.error : `Last try: ${item.error}`}
              </Text>
            )}
            <View style={{ flexDirection: "row", gap: 8 }}>
              <Button
                label="Retry"
                kind="secondary"
                disabled={item.state === "sending"}
                onPress={() => void app.uploadQueue.retry(item.key).then(() => app.sendQueued())}
              />
              <Button label="Discard" kind="danger" disabled={item.state === "sending"} onPress={() => void app.uploadQueue.discard(item.key)} />
            </View>
          </View>
        )}
      />
    </Screen>
  );
}
