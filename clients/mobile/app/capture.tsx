import { CameraView, useCameraPermissions } from "expo-camera";
import * as DocumentPicker from "expo-document-picker";
import * as ImagePicker from "expo-image-picker";
import { Redirect, useRouter } from "expo-router";
import { useCallback, useRef, useState } from "react";
import { Image, Modal, ScrollView, Text, View } from "react-native";
import { CropEditor } from "../components/crop-editor";
import { Badge, Button, ProgressBar, Screen, styles } from "../components/ui";
import { useApp } from "../src/app-context";
import { captureName, composeUpload } from "../src/compose";
import { readAsBase64 } from "../src/files";
import { fullQuad, type Quad, rotatedSize } from "../src/geometry";
import { preparePage, turnPage, type Page } from "../src/image";

const ZOOMS = [1, 1.5, 2, 3];

export default function Capture() {
  const app = useApp();
  const router = useRouter();
  const [pages, setPages] = useState<Page[]>([]);
  const [selected, setSelected] = useState(0);
  const [zoom, setZoom] = useState(1);
  const [cropping, setCropping] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [sendingKey, setSendingKey] = useState<string | null>(null);
  const [cameraOpen, setCameraOpen] = useState(false);
  const [permission, requestPermission] = useCameraPermissions();
  const camera = useRef<CameraView>(null);

  const page = pages[selected];
  const hasPdf = pages.some((p) => p.pdfBase64);

  const addImages = (assets: { uri: string; width: number; height: number; fileName?: string | null }[]) => {
    setPages((current) => {
      const next = [
        ...current.filter((p) => !p.pdfBase64),
        ...assets.map((asset, index) => ({
          uri: asset.uri,
          size: { width: asset.width, height: asset.height },
          turns: 0,
          quad: null,
          name: asset.fileName ?? `page ${current.length + index + 1}`,
        })),
      ];
      setSelected(next.length - 1);
      return next;
    });
    setCropping(false);
    setZoom(1);
  };

  const pickImages = async () => {
    setError(null);
    const result = await ImagePicker.launchImageLibraryAsync({
      mediaTypes: ["images"],
      allowsMultipleSelection: true,
      quality: 1,
      exif: false,
    });
    if (!result.canceled) addImages(result.assets);
  };

  const pickFile = async () => {
    setError(null);
    const result = await DocumentPicker.getDocumentAsync({ type: ["application/pdf", "image/*"], multiple: false });
    if (result.canceled) return;
    const asset = result.assets[0];
    if (!asset) return;
    if (asset.mimeType === "application/pdf" || asset.name.toLowerCase().endsWith(".pdf")) {
      setBusy("Reading the PDF…");
      try {
        const pdfBase64 = await readAsBase64(asset.uri);
        setPages([{ uri: asset.uri, size: { width: 1, height: 1 }, turns: 0, quad: null, pdfBase64, name: asset.name }]);
        setSelected(0);
      } finally {
        setBusy(null);
      }
      return;
    }
    const size = await new Promise<{ width: number; height: number }>((resolve, reject) => {
      Image.getSize(asset.uri, (width, height) => resolve({ width, height }), reject);
    });
    addImages([{ uri: asset.uri, ...size, fileName: asset.name }]);
  };

  const openCamera = async () => {
    setError(null);
    if (!permission?.granted) {
      const answer = await requestPermission();
      if (!answer.granted) {
        setError("Invoicer needs the camera to photograph invoices; allow it in Settings, or pick a photo instead.");
        return;
      }
    }
    setCameraOpen(true);
  };

  const takePhoto = async () => {
    const photo = await camera.current?.takePictureAsync({ quality: 1, exif: false });
    setCameraOpen(false);
    if (photo) addImages([{ uri: photo.uri, width: photo.width, height: photo.height }]);
  };

  const setQuad = useCallback(
    (quad: Quad) => setPages((current) => current.map((p, i) => (i === selected ? { ...p, quad } : p))),
    [selected],
  );

  const rotate = (by: number) => setPages((current) => current.map((p, i) => (i === selected ? turnPage(p, by) : p)));

  const toggleCrop = () => {
    if (!page) return;
    if (!cropping && !page.quad) {
      const size = rotatedSize(page.size, page.turns);
      const inset = Math.round(Math.min(size.width, size.height) * 0.04);
      const [tl, tr, br, bl] = fullQuad(size);
      setQuad([
        { x: tl.x + inset, y: tl.y + inset },
        { x: tr.x - inset, y: tr.y + inset },
        { x: br.x - inset, y: br.y - inset },
        { x: bl.x + inset, y: bl.y - inset },
      ]);
    }
    setCropping(!cropping);
  };

  const removePage = () => {
    setPages((current) => current.filter((_, i) => i !== selected));
    setSelected((current) => Math.max(0, current - 1));
  };

  const send = async () => {
    setError(null);
    try {
      setBusy("Preparing…");
      const name = captureName();
      const upload = hasPdf
        ? { contentBase64: pages[0]!.pdfBase64!, filename: pages[0]!.name, bytes: Math.floor((pages[0]!.pdfBase64!.length * 3) / 4) }
        : composeUpload(
            await Promise.all(pages.map(async (p) => (await preparePage(p)).base64)),
            name,
          );
      const item = await app.uploadQueue.add(upload.contentBase64, upload.filename, upload.bytes);
      setSendingKey(item.key);
      setBusy(`Sending ${Math.round(upload.bytes / 1024)} KB…`);
      await app.uploadQueue.flush();
      if (router.canGoBack()) router.back();
      else router.replace("/");
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : "Could not prepare the photo");
    } finally {
      setBusy(null);
      setSendingKey(null);
    }
  };

  if (app.snapshot.state === "signed-out") return <Redirect href="/sign-in" />;

  const progress = sendingKey ? (app.queue.progress[sendingKey] ?? 0) : 0;
  return (
    <Screen>
      <ScrollView contentContainerStyle={{ padding: 12, gap: 12 }}>
        <View style={{ flexDirection: "row", gap: 8, flexWrap: "wrap" }}>
          <Button label="Take photo" onPress={() => void openCamera()} />
          <Button label="Pick images" kind="secondary" onPress={() => void pickImages()} testID="pick-images" />
          <Button label="PDF or file" kind="secondary" onPress={() => void pickFile()} />
        </View>
        {pages.length === 0 && (
          <Text style={styles.small}>
            Photograph the invoice, or pick photos of its pages. Several pages are sent as one PDF made on the phone.
          </Text>
        )}
        {page && page.pdfBase64 && (
          <View style={styles.card}>
            <Text style={styles.text}>{page.name}</Text>
            <Text style={styles.small}>A PDF is sent as it is.</Text>
          </View>
        )}
        {page && !page.pdfBase64 && (
          <>
            <CropEditor page={page} zoom={zoom} cropping={cropping} onQuad={setQuad} />
            <View style={{ flexDirection: "row", gap: 8, flexWrap: "wrap" }}>
              <Button label="⟲ Left" kind="secondary" onPress={() => rotate(-1)} testID="rotate-left" />
              <Button label="⟳ Right" kind="secondary" onPress={() => rotate(1)} testID="rotate-right" />
              <Button label={cropping ? "Done cropping" : "Crop"} kind="secondary" onPress={toggleCrop} testID="crop" />
              <Button
                label={`Zoom ${zoom}×`}
                kind="secondary"
                onPress={() => setZoom(ZOOMS[(ZOOMS.indexOf(zoom) + 1) % ZOOMS.length]!)}
                testID="zoom"
              />
              <Button label="Remove" kind="danger" onPress={removePage} />
            </View>
          </>
        )}
        {pages.length > 1 && (
          <View style={{ flexDirection: "row", gap: 6, flexWrap: "wrap", alignItems: "center" }}>
            <Text style={styles.small}>Pages:</Text>
            {pages.map((p, index) => (
              <Button
                key={`${p.uri}-${index}`}
                label={String(index + 1)}
                kind={index === selected ? "primary" : "secondary"}
                onPress={() => setSelected(index)}
              />
            ))}
            <Badge label="sent as one PDF" tone="processing" />
          </View>
        )}
        {error && (
          <Text accessibilityRole="alert" style={styles.error}>
            {error}
          </Text>
        )}
        {busy && (
          <View style={{ gap: 6 }}>
            <Text style={styles.small}>{busy}</Text>
            {sendingKey && <ProgressBar fraction={progress} label="Upload progress" />}
          </View>
        )}
        <Button
          label={pages.length > 1 ? `Send ${pages.length} pages` : "Send"}
          onPress={() => void send()}
          disabled={pages.length === 0 || busy !== null}
          testID="send"
        />
      </ScrollView>
      <Modal visible={cameraOpen} animationType="slide" onRequestClose={() => setCameraOpen(false)}>
        <View style={{ flex: 1, backgroundColor: "#000" }}>
          <CameraView ref={camera} style={{ flex: 1 }} facing="back" />
          <View style={{ flexDirection: "row", gap: 12, padding: 20, justifyContent: "center" }}>
            <Button label="Cancel" kind="secondary" onPress={() => setCameraOpen(false)} />
            <Button label="Take" onPress={() => void takePhoto()} />
          </View>
        </View>
      </Modal>
    </Screen>
  );
}
