/** The Jenkins version we answer as: python-jenkins get_version() reads it from X-Jenkins. */
export const JENKINS_VERSION = "2.578";
