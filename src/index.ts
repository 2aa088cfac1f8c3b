export * from "./resources/common";
