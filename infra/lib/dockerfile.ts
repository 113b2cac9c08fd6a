// The Dockerfile reader the program and the policy pack share. It is implemented beside the Dockerfile it
// describes (registry-app/scripts/dockerfile.ts), so the image's own tests use the very same code.
export {
  DockerfileError,
  dockerfileBaseImages,
  dockerfileStages,
  execForm,
  parseDockerfile,
  splitFlags,
} from "../../registry-app/scripts/dockerfile";
export type { DockerInstruction, DockerStage } from "../../registry-app/scripts/dockerfile";
