package io.moeplan.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TenantsTest {

  @Test
  void aPrefixIsOneWordWithoutDots() {
    assertThat(Tenants.problem("teamA")).isNull();
    assertThat(Tenants.problem("team_a-2")).isNull();
    assertThat(Tenants.problem("team.a")).contains("no '.'");
    assertThat(Tenants.problem("")).contains("1-100 letters");
  }

  @Test
  void aPrefixWhosePrefixedAclsWouldCoverThePlainTopicsIsRefused() {
    // every plain topic starts with 'moe.': a tenant 'moe' would own them all
    assertThat(Tenants.problem("moe"))
        .contains("topic prefix 'moe' is taken")
        .contains("moe.expert-load");
    assertThat(Tenants.problem("MOE")).isNull();
    assertThat(Tenants.problem("moe2")).isNull();
    assertThatThrownBy(() -> Tenants.parse("teamA,moe"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'moe' is taken");
  }

  @Test
  void aJobBelongsToTheTenantItsIdStartsWith() {
    assertThat(Tenants.owns("A", "A.train")).isTrue();
    assertThat(Tenants.owns("A", "AB.train")).isFalse();
    assertThat(Tenants.owns("A", "A.")).isFalse();
    assertThat(Tenants.owns("A", "A")).isFalse();
    assertThat(Tenants.prefixOf("A.train.7")).isEqualTo("A");
    assertThat(Tenants.prefixOf("A.")).isNull();
    assertThat(Tenants.prefixOf(".x")).isNull();
    assertThat(Tenants.prefixOf("local")).isNull();
    assertThat(Tenants.notOwned("A", "B.x")).contains("job id 'B.x' must start with 'A.'");
    assertThat(Tenants.notOwned("A", "A.x")).isNull();
  }
}
