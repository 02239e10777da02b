/** Jest with Expo's preset; the workspace's ESM packages (the sdk, openapi-fetch, socket.io) are transformed too. */
module.exports = {
  preset: "jest-expo",
  testMatch: ["<rootDir>/__tests__/**/*.test.ts?(x)"],
  transformIgnorePatterns: [
    "node_modules/(?!((jest-)?react-native|@react-native(-community)?)|expo(nent)?|@expo(nent)?/.*|@expo-google-fonts/.*|react-navigation|@react-navigation/.*|@unimodules/.*|unimodules|react-native-svg|@invoicer/.*|openapi-fetch|socket\\.io-client|engine\\.io-client|socket\\.io-parser|engine\\.io-parser|@socket\\.io/.*|xmlhttprequest-ssl)",
  ],
};
